import { readAzureAuth, type AzureAuth } from '../lib/azure-auth.js';
import { readCommit, readEnvironment } from '../lib/common-inputs.js';
import { ConfigurationError } from '../lib/errors.js';
import { readBoolean, readGuid, readList, readString } from '../lib/inputs.js';
import { PLAN_ID_PATTERN, planIdFor } from '../lib/plan-store.js';
import { readMaxAttempts, readRootModuleInputs, type RootModule, type RootModuleInputs } from '../lib/root-modules.js';

export interface ModuleToDeploy extends RootModule {
  /** Where `plan` stored the reviewed plan for this root module. */
  planId: string;
  /** The SHA-256 the plan action reported for it (its `plan-sha256` output), when given. */
  expectedSha256?: string;
}

export interface Inputs extends RootModuleInputs {
  environment: string;
  /** In apply order (e.g. the Metaflow infra, then its services). */
  modules: ModuleToDeploy[];
  /** Only a stored (reviewed) plan may be applied. */
  requireApprovedPlan: boolean;
  /** With no stored plan, plan here and apply that (dev only: nobody reviewed it). */
  planIfMissing: boolean;
  maxAttempts: number;
  auth: AzureAuth;
  commit: string;
  /** For the Azure portal links of the summary (given even with auth connection-string). */
  portal: { tenantId?: string; subscriptionId?: string };
}

export function readInputs(): Inputs {
  // First, so every credential is masked before anything else could print.
  const auth = readAzureAuth({ allowConnectionString: true, needsSubscription: true });
  const environment = readEnvironment();
  const { modules, variables, terraform, blobEndpoint } = readRootModuleInputs(environment);
  // The plan id is derived as the plan action derives it: environment, commit, directory (and label).
  const commit = readCommit('the commit the plan was made for');
  const label = readString('label', { maxLength: 64, expected: 'the plan action\'s "label", when it was given one', example: 'eastus' });

  const planIds = readList('plan-id');
  for (const planId of planIds) {
    if (!PLAN_ID_PATTERN.test(planId)) {
      throw new ConfigurationError('plan-id', `is ${JSON.stringify(planId)}, which is not a plan id`, 'Pass the "plan-id" output of the plan action (<environment>/<commit>/<directory>), one per working directory.');
    }
    if (!planId.startsWith(`${environment}/`)) {
      throw new ConfigurationError('plan-id', `is ${JSON.stringify(planId)}, a plan for another environment than "${environment}"`, `Pass the plan made for "${environment}", or set "environment" to the plan's.`);
    }
  }
  if (planIds.length && planIds.length !== modules.length) {
    throw new ConfigurationError('plan-id', `lists ${planIds.length} plan id${planIds.length === 1 ? '' : 's'} for ${modules.length} root modules`, 'Give one plan id per working directory, in the same order, or leave "plan-id" empty to use the plans made for this commit.');
  }

  const shas = readList('plan-sha256');
  for (const sha of shas) {
    if (!/^[0-9a-f]{64}$/i.test(sha)) throw new ConfigurationError('plan-sha256', `is ${JSON.stringify(sha)}, which is not a SHA-256 (64 hex digits)`, 'Pass the "plan-sha256" output of the plan action, one per working directory.');
  }
  if (shas.length && shas.length !== modules.length) {
    throw new ConfigurationError('plan-sha256', `lists ${shas.length} hashes for ${modules.length} root modules`, 'Give one plan-sha256 per working directory, in the same order, or leave it empty.');
  }

  const requireApprovedPlan = readBoolean('require-approved-plan', true);
  const planIfMissing = readBoolean('plan-if-missing', false);
  if (planIfMissing && requireApprovedPlan) {
    throw new ConfigurationError(
      'plan-if-missing',
      'is true while "require-approved-plan" is true (the default): a plan made by deploy itself is one nobody reviewed',
      'For a dev environment that may apply unreviewed plans, set both "plan-if-missing: true" and "require-approved-plan: false"; elsewhere run the plan action first.',
    );
  }
  const maxAttempts = readMaxAttempts();
  const portal = {
    tenantId: auth.tenantId ?? readGuid('tenant-id', false, 'the Entra ID tenant id'),
    subscriptionId: auth.subscriptionId ?? readGuid('subscription-id', false, 'the Azure subscription id'),
  };

  return {
    environment,
    modules: modules.map((module, index) => ({ ...module, planId: planIds[index] ?? planIdFor(environment, commit, module.displayPath, label), expectedSha256: shas[index]?.toLowerCase() })),
    requireApprovedPlan,
    planIfMissing,
    variables,
    terraform,
    maxAttempts,
    auth,
    blobEndpoint,
    commit,
    portal,
  };
}
