import { readFileSync } from 'node:fs';
import { cloudOfTerraformName } from './azure-clouds.js';
import { ConfigurationError } from './errors.js';

/**
 * The azurerm backend settings in the `backend-<environment>.hcl` file that setup-remote-state writes
 * (a flat list of `name = value` attributes, as `terraform init -backend-config=FILE` reads it). plan,
 * deploy and destroy read it to find the state storage account, where the reviewed plans are kept too.
 */
export interface BackendConfig {
  resource_group_name?: string;
  storage_account_name: string;
  container_name: string;
  key: string;
  use_azuread_auth?: boolean;
  use_oidc?: boolean;
  /** Sovereign cloud name (public, usgovernment, china), as the azurerm backend takes it. */
  environment?: string;
  /** Every attribute as written, including ones not named above. */
  attributes: Record<string, string | number | boolean>;
}

const REQUIRED = ['storage_account_name', 'container_name', 'key'] as const;

/** Parses the flat attribute syntax of a backend config file: strings, numbers, booleans, comments. */
export function parseBackendConfig(text: string, source = 'backend config'): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {};
  const withoutBlockComments = text.replace(/\/\*[\s\S]*?\*\//g, '');
  withoutBlockComments.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (!line || line.startsWith('#') || line.startsWith('//')) return;
    const match = /^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.+?)\s*(?:(?:#|\/\/)[^"]*)?$/.exec(line);
    if (!match) throw new Error(`${source} line ${index + 1} is not a "name = value" attribute: ${line.slice(0, 80)}`);
    const [, name, rawValue] = match;
    let value: string | number | boolean;
    if (rawValue!.startsWith('"')) {
      try {
        // HCL's quoted-string escapes are JSON's for what setup-remote-state writes, plus $${ and %%{.
        value = (JSON.parse(rawValue!) as string).replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
      } catch {
        throw new Error(`${source} line ${index + 1}: the value of ${name} is not a well-formed quoted string`);
      }
    } else if (rawValue === 'true' || rawValue === 'false') value = rawValue === 'true';
    else if (/^-?\d+(\.\d+)?$/.test(rawValue!)) value = Number(rawValue);
    else throw new Error(`${source} line ${index + 1}: the value of ${name} is not a string, number or boolean`);
    attributes[name!] = value;
  });
  return attributes;
}

/**
 * Reads and checks a backend config file. `input` names the action input that gave the path, so a bad
 * file is reported as a ConfigurationError on that input.
 */
export function readBackendConfig(file: string, input = 'backend-config-file'): BackendConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigurationError(input, `is ${JSON.stringify(file)}, which cannot be read (no such file here)`, 'Pass the "backend-config-file" output of setup-remote-state from an earlier step of the same job (files do not travel between jobs).');
  }
  let attributes: Record<string, string | number | boolean>;
  try {
    attributes = parseBackendConfig(text, file);
  } catch (error) {
    throw new ConfigurationError(input, `is ${JSON.stringify(file)}, which is not a backend config file (${(error as Error).message})`, 'Point it at the file setup-remote-state wrote.');
  }
  for (const name of REQUIRED) {
    if (typeof attributes[name] !== 'string' || !attributes[name]) {
      throw new ConfigurationError(input, `is ${JSON.stringify(file)}, which sets no ${name}`, `Add ${name} = "..." to it, or use the file setup-remote-state wrote.`);
    }
  }
  const optionalString = (name: string) => (typeof attributes[name] === 'string' ? (attributes[name] as string) : undefined);
  const optionalBoolean = (name: string) => (typeof attributes[name] === 'boolean' ? (attributes[name] as boolean) : undefined);
  return {
    resource_group_name: optionalString('resource_group_name'),
    storage_account_name: attributes.storage_account_name as string,
    container_name: attributes.container_name as string,
    key: attributes.key as string,
    use_azuread_auth: optionalBoolean('use_azuread_auth'),
    use_oidc: optionalBoolean('use_oidc'),
    environment: optionalString('environment'),
    attributes,
  };
}

/** The Blob endpoint of the state account, for the azurerm backend's `environment` (default public). */
export function blobEndpointFor(config: BackendConfig): string {
  return `https://${config.storage_account_name}.blob.${cloudOfTerraformName(config.environment).storageSuffix}`;
}
