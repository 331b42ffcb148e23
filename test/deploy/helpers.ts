import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planIdFor, planStoreTarget, storePlan, type StoredPlan } from '../../src/lib/plan-store.js';
import { Terraform } from '../../src/lib/terraform.js';
import { FIXTURES_DIR } from '../support/azure-stand-in.js';
import type { Azurite } from '../support/azurite.js';
import { FAKE_TERRAFORM } from '../support/fake-terraform.js';

export const SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
export const SAMPLES = path.resolve(import.meta.dirname, '../fixtures/terraform-failures');
export const SHOW_JSON = path.join(FIXTURES_DIR, 'terraform-show-json');
/** A value the stack marks sensitive; it must never reach the log or the summary. */
export const SECRET_IN_OUTPUT = 'pg-admin-Zx81!qLm-connection';

export const BAKERY = 'terraform/stacks/bakery';
export const METAFLOW_INFRA = 'terraform/stacks/metaflow/infra';
export const METAFLOW_SERVICES = 'terraform/stacks/metaflow/services';

/** A workspace with root modules, each with the backend config setup-remote-state would have written. */
export function makeWorkspace(directories: string[] = [BAKERY, METAFLOW_INFRA, METAFLOW_SERVICES]): string {
  const workspace = mkdtempSync(path.join(tmpdir(), 'deploy-ws-'));
  for (const directory of directories) {
    const dir = path.join(workspace, directory);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'main.tf'), 'terraform {\n  backend "azurerm" {}\n}\n');
    writeFileSync(
      path.join(dir, 'variables.tf'),
      'variable "worker_pool" {\n  type = object({\n    vm_size = optional(string, "Standard_D4s_v5")\n  })\n  default = {}\n}\n\nvariable "system_pool" {\n  type = object({\n    vm_size = optional(string, "Standard_D2s_v5")\n  })\n  default = {}\n}\n',
    );
    const stack = directory.replace(/^terraform\/stacks\//, '');
    writeFileSync(
      path.join(dir, 'backend-dev.hcl'),
      `resource_group_name  = "contoso1-bakery-remote-state-rg"\nstorage_account_name = "devstoreaccount1"\ncontainer_name       = "tfstate"\nkey                  = "${stack}/dev.tfstate"\nuse_azuread_auth     = true\n`,
    );
  }
  return workspace;
}

/**
 * A real plan from the fixtures (`terraform show -json` of Terraform's own tests) with the outputs a
 * bakery stack has, one of them sensitive, as `output -json` would report them after applying it.
 */
export function planWithStackOutputs(fixture = 'basic-create'): string {
  const plan = JSON.parse(readFileSync(path.join(SHOW_JSON, `${fixture}.json`), 'utf8')) as { planned_values: { outputs: Record<string, unknown> } };
  plan.planned_values.outputs = {
    ...plan.planned_values.outputs,
    resource_group_name: { sensitive: false, type: 'string', value: 'bakery-dev-rg' },
    cluster_name: { sensitive: false, type: 'string', value: 'bakery-dev-aks' },
    registry_login_server: { sensitive: false, type: 'string', value: 'bakerydevacr.azurecr.io' },
    metaflow_config: { sensitive: true, type: ['object', { METAFLOW_SERVICE_AUTH_KEY: 'string', METAFLOW_DATASTORE_SYSROOT_AZURE: 'string' }], value: { METAFLOW_SERVICE_AUTH_KEY: SECRET_IN_OUTPUT, METAFLOW_DATASTORE_SYSROOT_AZURE: 'metaflow/data' } },
  };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'show-json-')), `${fixture}-with-outputs.json`);
  writeFileSync(file, JSON.stringify(plan));
  return file;
}

/** Makes a plan the way the plan action does (fake terraform, saved with -out) and stores it for `directory`. */
export async function storeReviewedPlan(azurite: Azurite, workspace: string, directory: string, fixture: string, commit = SHA): Promise<StoredPlan> {
  const workingDirectory = path.join(workspace, directory);
  const previous = process.env.FAKE_TF_PLAN;
  process.env.FAKE_TF_PLAN = fixture;
  const terraform = new Terraform({ binary: FAKE_TERRAFORM, workingDirectory, env: {} });
  const planFile = path.join(mkdtempSync(path.join(tmpdir(), 'reviewed-')), 'tfplan');
  try {
    await terraform.init({ backendConfigFile: path.join(workingDirectory, 'backend-dev.hcl') });
    await terraform.plan({ out: planFile });
  } finally {
    if (previous === undefined) delete process.env.FAKE_TF_PLAN;
    else process.env.FAKE_TF_PLAN = previous;
  }
  const planId = planIdFor('dev', commit, directory);
  const target = planStoreTarget({ storage_account_name: 'devstoreaccount1', container_name: 'tfstate', key: 'x', attributes: {} }, { method: 'connection-string', connectionString: azurite.connectionString, armEndpoint: 'https://management.azure.com' });
  return storePlan(target, planFile, { planId, environment: 'dev', commit, workingDirectory: directory, destroy: false, hasChanges: true });
}

export function sample(name: string): string {
  return path.join(SAMPLES, name);
}
