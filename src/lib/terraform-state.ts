/**
 * Reads Terraform state files as the azurerm backend stores them (one blob per root module and
 * workspace) and says which managed resources they still hold. destroy uses it before deleting the
 * state storage: a state that still manages anything is the only record of live infrastructure, and
 * deleting it would orphan that infrastructure.
 *
 * Format: Terraform's state file format version 4 (internal/states/statefile/version4.go; Terraform
 * 0.12 and later, OpenTofu too). Version 3 (Terraform 0.11 and earlier) is read just enough to list
 * its managed resources, since an old state left in the container holds live resources all the same.
 */

export interface StateSummary {
  /** The state file format version (4, or 3 for Terraform 0.11 and earlier). */
  formatVersion: number;
  terraformVersion?: string;
  serial?: number;
  lineage?: string;
  /** Addresses of the managed resource instances the state still holds (`module.aks.azurerm_kubernetes_cluster.this`). */
  managed: string[];
}

/** The file is not a Terraform state we can read: we cannot tell whether it holds live resources. */
export class UnreadableStateError extends Error {
  override readonly name = 'UnreadableStateError';
}

interface StateV4Instance {
  index_key?: string | number;
}

interface StateV4Resource {
  module?: string;
  mode?: string;
  type?: string;
  name?: string;
  instances?: StateV4Instance[];
}

interface StateV3Module {
  path?: string[];
  resources?: Record<string, unknown>;
}

/** `["worker"]` for a for_each key, `[0]` for a count index, nothing for a single instance. */
function indexSuffix(key: string | number | undefined): string {
  if (key === undefined || key === null) return '';
  return typeof key === 'number' ? `[${key}]` : `[${JSON.stringify(key)}]`;
}

function v4Managed(resources: unknown, source: string): string[] {
  if (resources === undefined || resources === null) return [];
  if (!Array.isArray(resources)) throw new UnreadableStateError(`${source}: "resources" is not a list`);
  const managed: string[] = [];
  for (const resource of resources as StateV4Resource[]) {
    if (resource?.mode !== 'managed') continue; // data sources hold nothing that exists because of this state
    const base = `${resource.module ? `${resource.module}.` : ''}${resource.type}.${resource.name}`;
    for (const instance of resource.instances ?? []) managed.push(`${base}${indexSuffix(instance?.index_key)}`);
  }
  return managed;
}

function v3Managed(modules: unknown, source: string): string[] {
  if (!Array.isArray(modules)) throw new UnreadableStateError(`${source}: a version 3 state without "modules"`);
  const managed: string[] = [];
  for (const module of modules as StateV3Module[]) {
    const prefix = (module.path ?? ['root']).slice(1).map((name) => `module.${name}.`).join('');
    for (const key of Object.keys(module.resources ?? {})) {
      if (!key.startsWith('data.')) managed.push(`${prefix}${key}`);
    }
  }
  return managed;
}

/** Parses one state file; throws UnreadableStateError for anything that is not a state we know. */
export function parseTerraformState(text: string, source = 'state'): StateSummary {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UnreadableStateError(`${source} is not JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UnreadableStateError(`${source} is not a JSON object`);
  const formatVersion = parsed.version;
  const common = {
    terraformVersion: typeof parsed.terraform_version === 'string' ? parsed.terraform_version : undefined,
    serial: typeof parsed.serial === 'number' ? parsed.serial : undefined,
    lineage: typeof parsed.lineage === 'string' ? parsed.lineage : undefined,
  };
  if (formatVersion === 4) return { formatVersion, ...common, managed: v4Managed(parsed.resources, source) };
  if (formatVersion === 3) return { formatVersion, ...common, managed: v3Managed(parsed.modules, source) };
  throw new UnreadableStateError(`${source} has state format version ${JSON.stringify(formatVersion)}; only versions 3 and 4 are understood`);
}

/** The managed resource instances a state file still holds (empty after a complete destroy). */
export function managedResources(text: string, source = 'state'): string[] {
  return parseTerraformState(text, source).managed;
}
