import path from 'node:path';
import { maskAzureCredentials, readAzureAuth, type AzureAuth } from '../lib/azure-auth.js';
import { readBlobContainer, readEnvironment, readResourceGroup, workspaceDirectory } from '../lib/common-inputs.js';
import { parseConnectionString } from '../lib/connection-string.js';
import { ConfigurationError } from '../lib/errors.js';
import { rawInput, readBoolean, readInteger, readKeyValues, readString } from '../lib/inputs.js';
import {
  DEFAULT_CONTAINER,
  DEFAULT_STACK,
  IDENTIFIER_PATTERN,
  backendConfigFileName,
  defaultResourceGroupName,
  defaultStateKey,
  defaultStorageAccountName,
} from '../lib/remote-state-names.js';

export interface Inputs {
  identifier: string;
  stack: string;
  environment: string;
  /** Where the resource group and account are created; required only when they may be created. */
  region?: string;
  auth: AzureAuth;
  /** Unknown (undefined) under `auth: connection-string` unless given: no ARM call can tell it. */
  resourceGroup?: string;
  storageAccount: string;
  container: string;
  stateKey: string;
  /** The tags the resource group and account carry (the user's, plus `managed-by`). */
  tags: Record<string, string>;
  /** Days a deleted or overwritten state blob (and a deleted container) can be recovered. */
  retentionDays: number;
  readOnly: boolean;
  enforceSettings: boolean;
  /** Absolute path of the Terraform root module directory. */
  workingDirectory: string;
  /** Absolute path of `backend-<environment>.hcl` inside `workingDirectory`. */
  backendConfigFile: string;
}

export const MANAGED_BY_TAG = { name: 'managed-by', value: 'azure-bakery-actions' } as const;

// Azure's naming rules, per resource type.
// https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
const STACK_PATTERN = /^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?(?:\/[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?)?$/;
const REGION_PATTERN = /^[a-z][a-z0-9]{1,39}$/;
const STORAGE_ACCOUNT_PATTERN = /^[a-z0-9]{3,24}$/;
/** Path segments of letters, digits and `._=-`, no leading, trailing or doubled slash, no `.`/`..`. */
const STATE_KEY_PATTERN = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._=-]+(?:\/[A-Za-z0-9._=-]+)*$/;
/**
 * Storage accounts take at most 15 tags, names up to 128 characters without < > % & \ ? / and values up
 * to 256 (StorageAccountUpdateParameters.tags in the Microsoft.Storage API).
 */
const TAG_NAME_PATTERN = /^[^<>%&\\?/]{1,128}$/;
const TAG_VALUE_MAX = 256;
const TAG_COUNT_MAX = 15;
const CONTROL_CHARACTER = /\p{Cc}/u;

function readTags(): Record<string, string> {
  const tags = readKeyValues('tags', {
    keyPattern: /^[\x20-\x7e]+$/,
    keyExpected: 'printable ASCII',
  });
  for (const [name, value] of Object.entries(tags)) {
    if (!TAG_NAME_PATTERN.test(name)) {
      throw new ConfigurationError('tags', `has the tag name ${JSON.stringify(name)}, which Azure refuses (1–128 characters, none of < > % & \\ ? /)`, 'Rename the tag in "tags".');
    }
    if (value.length > TAG_VALUE_MAX || CONTROL_CHARACTER.test(value)) {
      throw new ConfigurationError('tags', `has a value for ${JSON.stringify(name)} that is over ${TAG_VALUE_MAX} characters or holds a control character`, `Shorten the value of ${name} in "tags".`);
    }
  }
  const all = { [MANAGED_BY_TAG.name]: MANAGED_BY_TAG.value, ...tags };
  if (Object.keys(all).length > TAG_COUNT_MAX) {
    throw new ConfigurationError('tags', `names ${Object.keys(all).length} tags (with "${MANAGED_BY_TAG.name}"); Azure allows ${TAG_COUNT_MAX}`, 'Remove some tags from "tags".');
  }
  return all;
}

function readWorkingDirectory(): string {
  return workspaceDirectory('working-directory', rawInput('working-directory') || '.', 'Set "working-directory" to the Terraform root module, relative to the repository root (e.g. "terraform/stacks/bakery").');
}

export function readInputs(): Inputs {
  // Masked before anything else is read; which auth applies is read after the names.
  maskAzureCredentials();
  const identifier = readString('identifier', {
    required: true,
    pattern: IDENTIFIER_PATTERN,
    expected: '1–10 lowercase letters or digits',
    example: 'contoso1',
  });
  const stack = readString('stack', {
    default: DEFAULT_STACK,
    pattern: STACK_PATTERN,
    expected: 'a stack name of lowercase letters, digits and hyphens (optionally one "/" level)',
    example: 'bakery',
  });
  const environment = readEnvironment();
  const readOnly = readBoolean('read-only', false);
  const enforceSettings = readBoolean('enforce-settings', false);
  if (readOnly && enforceSettings) {
    throw new ConfigurationError(
      'enforce-settings',
      'is true while "read-only" is true, but a read-only run changes nothing',
      'Drop "enforce-settings" from the read-only (pull request) step; keep it on the step that deploys.',
    );
  }
  const auth = readAzureAuth({ allowConnectionString: true, needsSubscription: true });
  const usesArm = auth.method !== 'connection-string';
  const region = readString('region', {
    required: usesArm && !readOnly,
    pattern: REGION_PATTERN,
    expected: 'an Azure region name as `az account list-locations --query "[].name"` prints it (lowercase, no spaces)',
    example: 'westeurope',
  });

  const givenAccount = readString('storage-account', {
    pattern: STORAGE_ACCOUNT_PATTERN,
    expected: '3–24 lowercase letters or digits (storage account names are global across Azure)',
    example: defaultStorageAccountName(identifier),
  });
  let storageAccount = givenAccount ?? defaultStorageAccountName(identifier);
  if (!usesArm) {
    // The connection string names the account; a different `storage-account` is a mix-up of two accounts.
    const fromConnectionString = parseConnectionString(auth.connectionString!).accountName;
    if (!fromConnectionString) {
      throw new ConfigurationError('connection-string', 'names no storage account (neither AccountName= nor an account in BlobEndpoint=)', 'Copy the whole connection string from the storage account\'s "Access keys" page.');
    }
    if (givenAccount && givenAccount !== fromConnectionString) {
      throw new ConfigurationError(
        'storage-account',
        `is "${givenAccount}", but the connection string is for the account "${fromConnectionString}"`,
        'Leave "storage-account" empty with auth: connection-string, or pass the connection string of that account.',
      );
    }
    storageAccount = fromConnectionString;
  }

  const resourceGroup = readResourceGroup({ example: defaultResourceGroupName(identifier) }) ?? (usesArm ? defaultResourceGroupName(identifier) : undefined);
  const container = readBlobContainer('container', { default: DEFAULT_CONTAINER, example: DEFAULT_CONTAINER });
  const stateKey = readString('state-key', {
    default: defaultStateKey(stack, environment),
    pattern: STATE_KEY_PATTERN,
    maxLength: 1024,
    expected: 'a blob path of letters, digits and . _ = - segments separated by single "/", without "." or ".." segments',
    example: defaultStateKey(stack, environment),
  });
  const tags = readTags();
  const retentionDays = readInteger('retention-days', { default: 30, min: 1, max: 365 });
  const workingDirectory = readWorkingDirectory();

  return {
    identifier,
    stack,
    environment,
    region,
    auth,
    resourceGroup,
    storageAccount,
    container,
    stateKey,
    tags,
    retentionDays,
    readOnly,
    enforceSettings,
    workingDirectory,
    backendConfigFile: path.join(workingDirectory, backendConfigFileName(environment)),
  };
}
