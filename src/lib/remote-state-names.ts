import { createHash } from 'node:crypto';

/**
 * The names of the Terraform remote state, derived from the deployment's `identifier`. Shared by
 * setup-remote-state (which creates them) and destroy (which removes them), so both agree without
 * passing every name around. One state account per identifier holds every stack and environment:
 * they differ only by blob key (`<stack>/<environment>.tfstate`).
 */

/** 1–10 lowercase letters or digits: short enough that every derived name fits Azure's limits. */
export const IDENTIFIER_PATTERN = /^[a-z0-9]{1,10}$/;
export const DEFAULT_STACK = 'bakery';
export const DEFAULT_CONTAINER = 'tfstate';

export function defaultResourceGroupName(identifier: string): string {
  return `${identifier}-bakery-remote-state-rg`;
}

/**
 * `<identifier>tfstate<6 hex>`: 14–23 lowercase letters and digits (Azure allows 3–24), the same for
 * the same identifier on every run. Storage account names are global across Azure; the hash suffix
 * keeps the name clear of the short names people pick by hand ("demotfstate"), so a fresh identifier
 * rarely meets a taken name. When it does, the action says so and `storage-account` overrides it.
 */
export function defaultStorageAccountName(identifier: string): string {
  const suffix = createHash('sha256').update(`azure-bakery-actions/${identifier}`).digest('hex').slice(0, 6);
  return `${identifier}tfstate${suffix}`;
}

export function defaultStateKey(stack: string, environment: string): string {
  return `${stack}/${environment}.tfstate`;
}

/** The partial backend configuration file Terraform reads with `-backend-config=<file>`. */
export function backendConfigFileName(environment: string): string {
  return `backend-${environment}.hcl`;
}
