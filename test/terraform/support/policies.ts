/**
 * The project's own rules for Terraform code, beyond what Terraform validates: version pins and
 * backends, tags, and the fixes of the hand-run Metaflow stack's defects. Each check returns a list
 * of problems (empty when the module follows the rule).
 */
import { evaluate, type Scope } from './evaluate.js';
import {
  blockBodies,
  isObject,
  localsOf,
  moduleCallsOf,
  providersOf,
  resourcesOf,
  dataSourcesOf,
  terraformSettingsOf,
  unwrapExpression,
  variablesOf,
  type HclObject,
  type HclValue,
  type TerraformModule,
} from './hcl.js';
import type { ProviderSchemas } from './provider-schema.js';

/** Whether `version` satisfies a pessimistic constraint such as "~> 4.55" or "~> 2.38.1". */
export function satisfiesPessimistic(constraint: string, version: string): boolean {
  const match = /^~>\s*(\d+(?:\.\d+){1,2})$/.exec(constraint.trim());
  if (!match) return false;
  const wanted = (match[1] as string).split('.').map(Number);
  const actual = version.split('.').map(Number);
  const fixed = wanted.length - 1; // every part but the last must be equal, the last at least as high
  for (let index = 0; index < fixed; index++) if (actual[index] !== wanted[index]) return false;
  return (actual[fixed] ?? 0) >= (wanted[fixed] as number);
}

/** The providers a module uses: resource/data type prefixes and provider blocks. */
export function providersUsed(module: TerraformModule): Set<string> {
  const types = [...resourcesOf(module), ...dataSourcesOf(module)].map((block) => block.labels[0] as string);
  const names = types.filter((type) => type !== 'terraform_remote_state').map((type) => type.split('_')[0] as string);
  return new Set([...names, ...providersOf(module).map((block) => block.labels[0] as string)]);
}

/**
 * A root module requires Terraform >= 1.6, pins every provider it uses with `~>` to a range that
 * includes the version its schema was checked against (azurerm 4.x), and declares an empty azurerm
 * backend that `terraform init -backend-config` fills.
 */
export function checkRootSettings(module: TerraformModule, schemas: ProviderSchemas): string[] {
  const problems: string[] = [];
  const settings = terraformSettingsOf(module);
  const where = module.name;
  if (!settings.some((body) => body.required_version === '>= 1.6')) problems.push(`${where}: required_version must be ">= 1.6"`);

  // backend "azurerm" {} is rendered as { backend: { azurerm: [{}] } }.
  const backends = settings.flatMap((body) => (isObject(body.backend) ? Object.entries(body.backend) : []));
  const azurerm = backends.find(([type]) => type === 'azurerm');
  if (backends.length !== 1 || !azurerm) problems.push(`${where}: needs exactly one backend, "azurerm"`);
  else if (!Array.isArray(azurerm[1]) || azurerm[1].some((body) => !isObject(body) || Object.keys(body).length > 0)) {
    problems.push(`${where}: the azurerm backend must be empty (configured at init from setup-remote-state's file)`);
  }

  const requirements: HclObject = Object.assign({}, ...settings.flatMap((body) => blockBodies(body, 'required_providers')));
  for (const provider of providersUsed(module)) {
    const requirement = requirements[provider];
    const constraint = isObject(requirement) ? requirement.version : undefined;
    const checkedVersion = schemas.providers[provider]?.version;
    if (typeof constraint !== 'string' || !constraint.startsWith('~>')) {
      problems.push(`${where}: provider ${provider} must be pinned with ~>`);
    } else if (!checkedVersion || !satisfiesPessimistic(constraint, checkedVersion)) {
      problems.push(`${where}: provider ${provider} constraint "${constraint}" excludes ${checkedVersion ?? 'any'} (the schema version the tests check against)`);
    }
    if (isObject(requirement) && requirement.source !== `hashicorp/${provider}`) problems.push(`${where}: provider ${provider} must come from hashicorp/${provider}`);
  }
  if (!/^~>\s*4\./.test(String((requirements.azurerm as HclObject | undefined)?.version ?? '~> 4.'))) {
    problems.push(`${where}: azurerm must be pinned to 4.x`);
  }
  return problems;
}

/** Reusable modules leave provider configuration, version pins and state to the root modules. */
export function checkReusableModuleSettings(module: TerraformModule): string[] {
  const problems: string[] = [];
  if (providersOf(module).length > 0) problems.push(`${module.name}: a reusable module must not configure providers`);
  for (const settings of terraformSettingsOf(module)) {
    if ('backend' in settings) problems.push(`${module.name}: a reusable module must not declare a backend`);
    for (const requirements of blockBodies(settings, 'required_providers')) {
      for (const [provider, requirement] of Object.entries(requirements)) {
        if (isObject(requirement) && 'version' in requirement) problems.push(`${module.name}: ${provider} version is pinned in the root modules, not here`);
      }
    }
  }
  return problems;
}

/**
 * Every resource whose schema has `tags` sets them from the one shared source: local.tags (root
 * modules, = module.conventions.tags) or var.tags (reusable modules, passed local.tags by the root).
 */
export function checkTags(module: TerraformModule, schemas: ProviderSchemas, options: { root: boolean }): string[] {
  const problems: string[] = [];
  const expected = options.root ? 'local.tags' : 'var.tags';
  for (const resource of resourcesOf(module)) {
    const type = resource.labels[0] as string;
    if (!schemas.resource[type]?.attributes.tags) continue;
    const tags = unwrapExpression(resource.body.tags);
    if (tags !== expected) problems.push(`${resource.file.name}: ${resource.labels.join('.')} must set tags = ${expected}`);
  }
  for (const call of moduleCallsOf(module)) {
    if ('tags' in call.body && unwrapExpression(call.body.tags) !== expected) {
      problems.push(`${module.name}: module "${call.labels[0]}" must be passed tags = ${expected}`);
    }
  }
  if (options.root && resourcesOf(module).some((resource) => schemas.resource[resource.labels[0] as string]?.attributes.tags)) {
    if (unwrapExpression(localsOf(module).tags) !== 'module.conventions.tags') problems.push(`${module.name}: local.tags must be module.conventions.tags`);
  }
  return problems;
}

/** Resources of the kubernetes provider whose API versions are gone or deprecated; use the _v1 ones. */
export function checkKubernetesApiVersions(module: TerraformModule): string[] {
  return resourcesOf(module)
    .filter((resource) => {
      const type = resource.labels[0] as string;
      return type.startsWith('kubernetes_') && !/_v\d+$/.test(type) && type !== 'kubernetes_manifest';
    })
    .map((resource) => `${resource.file.name}: ${resource.labels.join('.')} uses an unversioned kubernetes resource; use ${resource.labels[0]}_v1`);
}

function podTemplateLabels(deployment: HclObject): HclValue | undefined {
  const spec = blockBodies(deployment, 'spec')[0];
  const template = spec && blockBodies(spec, 'template')[0];
  const metadata = template && blockBodies(template, 'metadata')[0];
  return metadata?.labels;
}

function metadataName(body: HclObject, scope: Scope): HclValue | undefined {
  const name = blockBodies(body, 'metadata')[0]?.name;
  return name === undefined ? undefined : evaluate(name, scope);
}

/**
 * Every Service's selector matches the pod labels of the Deployment of the same name (or, for a
 * Service without a namesake, of some Deployment in the module), with local and merge() references
 * resolved. The original's UI static Service selected `app = metadata-ui-static-service`, a label no
 * pod had.
 */
export function checkServiceSelectors(module: TerraformModule): string[] {
  const scope: Scope = { var: {}, local: localsOf(module) };
  const deployments = resourcesOf(module)
    .filter((resource) => /^kubernetes_deployment(_v1)?$/.test(resource.labels[0] as string))
    .map((deployment) => ({ name: metadataName(deployment.body, scope), labels: evaluate(podTemplateLabels(deployment.body) ?? {}, scope) }));
  const problems: string[] = [];
  for (const service of resourcesOf(module).filter((resource) => /^kubernetes_service(_v1)?$/.test(resource.labels[0] as string))) {
    const where = `${service.file.name}: ${service.labels.join('.')}`;
    const spec = blockBodies(service.body, 'spec')[0];
    const selector = spec && evaluate(spec.selector ?? {}, scope);
    if (!isObject(selector) || Object.keys(selector).length === 0) {
      problems.push(`${where} has no selector`);
      continue;
    }
    const name = metadataName(service.body, scope);
    const namesake = deployments.filter((deployment) => name !== undefined && deployment.name === name);
    const candidates = namesake.length > 0 ? namesake : deployments;
    const selects = (labels: HclValue) => isObject(labels) && Object.entries(selector).every(([key, value]) => labels[key] === value);
    if (!candidates.some((deployment) => selects(deployment.labels))) {
      const target = namesake.length > 0 ? `the pods of deployment ${String(name)}` : 'no pod template';
      problems.push(`${where} selector ${JSON.stringify(selector)} ${namesake.length > 0 ? 'does not match' : 'matches'} ${target}`);
    }
  }
  return problems;
}

/** require_secure_transport is set, and set to on, wherever a PostgreSQL Flexible Server is created. */
export function checkPostgresTransport(module: TerraformModule): string[] {
  const servers = resourcesOf(module).filter((resource) => resource.labels[0] === 'azurerm_postgresql_flexible_server');
  const settings = resourcesOf(module).filter(
    (resource) => resource.labels[0] === 'azurerm_postgresql_flexible_server_configuration' && resource.body.name === 'require_secure_transport',
  );
  const problems = settings
    .filter((setting) => String(setting.body.value).toLowerCase() !== 'on')
    .map((setting) => `${setting.file.name}: ${setting.labels.join('.')} must set require_secure_transport to on`);
  if (servers.length > 0 && settings.length === 0) problems.push(`${module.name}: a PostgreSQL server without require_secure_transport = on`);
  return problems;
}

/**
 * Every helm_release from a chart repository pins an exact chart version, either literally or
 * through a variable whose default is one, and nothing installs from a "latest" URL.
 */
export function checkPinnedCharts(module: TerraformModule): string[] {
  const problems: string[] = [];
  const exact = /^\d+\.\d+\.\d+$/;
  const defaults = new Map(variablesOf(module).map((variable) => [variable.labels[0] as string, variable.body.default]));
  for (const release of resourcesOf(module).filter((resource) => resource.labels[0] === 'helm_release')) {
    if (!('repository' in release.body)) continue; // a local chart, versioned with this repository
    const where = `${release.file.name}: ${release.labels.join('.')}`;
    const version = unwrapExpression(release.body.version);
    const variable = /^var\.(\w+)$/.exec(version ?? '')?.[1];
    const pinned = variable ? defaults.get(variable) : version;
    if (typeof pinned !== 'string' || !exact.test(pinned)) problems.push(`${where} must pin an exact chart version`);
  }
  for (const file of module.files) {
    if (/https?:\/\/\S*\blatest\b/.test(file.source)) problems.push(`${file.name}: installs from a "latest" URL`);
  }
  return problems;
}
