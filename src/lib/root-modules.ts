import { existsSync } from 'node:fs';
import path from 'node:path';
import { readBackendConfig, type BackendConfig } from './backend-config.js';
import { workspaceDirectory } from './common-inputs.js';
import { ConfigurationError } from './errors.js';
import { rawInput, readInteger, readKeyValues, readList, readString, readUrl } from './inputs.js';
import { registerSecret } from './mask.js';
import { backendConfigFileName } from './remote-state-names.js';
import { workspaceRoot } from './runner-env.js';
import { TERRAFORM_VERSION_PATTERN } from './terraform.js';

/**
 * The inputs that say which Terraform root modules an action works on and how Terraform runs there,
 * read the same way by deploy and destroy (and any action that applies or destroys several root
 * modules in order, such as the Metaflow stack's infra then services).
 */

export interface RootModule {
  /** Absolute path of the root module. */
  workingDirectory: string;
  /** As the user wrote it, for messages and summaries. */
  displayPath: string;
  /** Absolute path of the backend config file for this root module. */
  backendConfigFile: string;
  backend: BackendConfig;
}

/**
 * `working-directory` (one root module) or `working-directories` (several, one per line, in the order
 * they are applied), relative to the repository root. Each needs a backend config: `backend-config-file`
 * gives one path per root module (same order), or one bare file name looked up in each directory;
 * without it, each directory's `backend-<environment>.hcl` (what setup-remote-state writes there).
 */
export function readRootModules(environment: string): RootModule[] {
  const single = rawInput('working-directory');
  const several = readList('working-directories');
  if (single && several.length) {
    throw new ConfigurationError('working-directories', 'is set together with "working-directory"', 'Set one of them: "working-directory" for one root module, "working-directories" (one per line, in apply order) for several.');
  }
  const inputName = several.length ? 'working-directories' : 'working-directory';
  const given = several.length ? several : [single || '.'];
  const root = workspaceRoot();
  const directories = given.map((entry) => ({
    absolute: workspaceDirectory(inputName, entry, 'Give Terraform root modules relative to the repository root (e.g. "terraform/stacks/bakery").'),
    display: entry,
  }));
  const seen = new Set<string>();
  for (const directory of directories) {
    if (seen.has(directory.absolute)) {
      throw new ConfigurationError(inputName, `names ${JSON.stringify(directory.display)} twice`, 'List each root module once.');
    }
    seen.add(directory.absolute);
  }

  // A path (absolute, or with a slash: relative to the repository root) names one file; a bare file
  // name is looked up in the root module's own directory, where setup-remote-state writes it.
  const backendFiles = readList('backend-config-file');
  const locate = (file: string, directory: string) => (file.includes('/') || path.isAbsolute(file) ? path.resolve(root, file) : path.join(directory, file));
  let files: string[];
  if (backendFiles.length === 0) {
    files = directories.map((directory) => path.join(directory.absolute, backendConfigFileName(environment)));
  } else if (backendFiles.length === directories.length) {
    files = backendFiles.map((file, index) => locate(file, directories[index]!.absolute));
  } else if (backendFiles.length === 1 && !backendFiles[0]!.includes('/')) {
    files = directories.map((directory) => path.join(directory.absolute, backendFiles[0]!));
  } else {
    throw new ConfigurationError(
      'backend-config-file',
      `lists ${backendFiles.length} file${backendFiles.length === 1 ? '' : 's'} for ${directories.length} root modules`,
      'Give one backend config file per root module, in the same order (each root module has its own state), or one bare file name found in every directory, or leave it empty to use each directory\'s backend-<environment>.hcl from setup-remote-state.',
    );
  }

  const modules = directories.map((directory, index) => {
    const file = files[index]!;
    if (!existsSync(file)) {
      throw new ConfigurationError(
        'backend-config-file',
        `resolves to ${JSON.stringify(path.relative(root, file) || file)} for ${directory.display}, which does not exist`,
        'Run setup-remote-state for this root module earlier in the same job (it writes backend-<environment>.hcl into the working directory), or pass its "backend-config-file" output.',
      );
    }
    return { workingDirectory: directory.absolute, displayPath: directory.display, backendConfigFile: file, backend: readBackendConfig(file) };
  });

  // Two root modules on one state would each destroy what the other created.
  const byState = new Map<string, string>();
  for (const module of modules) {
    const state = `${module.backend.storage_account_name}/${module.backend.container_name}/${module.backend.key}`;
    const other = byState.get(state);
    if (other) {
      throw new ConfigurationError('backend-config-file', `points ${other} and ${module.displayPath} at the same state (${state})`, 'Give each root module its own state key (setup-remote-state "stack" input, e.g. metaflow/infra and metaflow/services).');
    }
    byState.set(state, module.displayPath);
  }
  return modules;
}

export interface TerraformVariables {
  /** .tfvars files, resolved in each root module's directory (as Terraform resolves -var-file there). */
  varFiles: string[];
  variables: Record<string, string>;
}

/** `var-files`, `variables` and `secret-values` (values to mask wherever they turn up in Terraform's output). */
export function readTerraformVariables(modules: RootModule[]): TerraformVariables {
  for (const value of readList('secret-values')) registerSecret(value);
  const varFiles = readList('var-files');
  for (const file of varFiles) {
    for (const module of modules) {
      const resolved = path.resolve(module.workingDirectory, file);
      if (!existsSync(resolved)) {
        throw new ConfigurationError('var-files', `names ${JSON.stringify(file)}, which is not in ${module.displayPath} (${resolved})`, 'Var files are read relative to each working directory; give a path that exists there.');
      }
    }
  }
  const variables = readKeyValues('variables', { keyPattern: /^[A-Za-z_][A-Za-z0-9_-]*$/, keyExpected: 'a Terraform variable name (letters, digits, _ and -, not starting with a digit)' });
  return { varFiles, variables };
}

export interface TerraformBinaryInputs {
  /** `terraform`, `tofu`, or a path to either. */
  binary: string;
  /** Download and cache this version (SHA-256 checked); otherwise use `binary` as found. */
  version?: string;
  /** A mirror of the release downloads for `version` (default HashiCorp's, or OpenTofu's GitHub releases). */
  releasesUrl?: string;
}

export function readTerraformBinary(): TerraformBinaryInputs {
  const binary = readString('terraform-binary', { default: 'terraform', expected: 'terraform, tofu, or the path of either', example: 'terraform' });
  const version = readString('terraform-version', { pattern: TERRAFORM_VERSION_PATTERN, expected: 'a release version such as 1.9.8', example: '1.9.8' });
  const releasesUrl = readUrl('terraform-releases-url', { httpsOnly: true, expected: 'an https:// URL of a mirror of the release downloads', example: 'https://releases.hashicorp.com' });
  return { binary, version, releasesUrl };
}

/** How often a failed apply or destroy of a retryable kind is attempted in all. */
export function readMaxAttempts(): number {
  return readInteger('max-attempts', { default: 3, min: 1, max: 10 });
}

/** What plan, deploy and destroy all read about the root modules they work on and how Terraform runs. */
export interface RootModuleInputs {
  /** In apply order. */
  modules: RootModule[];
  variables: TerraformVariables;
  terraform: TerraformBinaryInputs;
  /** The state account's Blob endpoint, when not https://<account>.blob.<cloud suffix> (a private endpoint, an emulator). */
  blobEndpoint?: string;
}

export function readRootModuleInputs(environment: string): RootModuleInputs {
  const modules = readRootModules(environment);
  return { modules, variables: readTerraformVariables(modules), terraform: readTerraformBinary(), blobEndpoint: readBlobEndpoint() };
}

/** `blob-endpoint`: the state account's Blob endpoint when it is not https://<account>.blob.<cloud suffix>. */
export function readBlobEndpoint(): string | undefined {
  return readUrl('blob-endpoint', {
    expected: 'the state storage account\'s Blob endpoint, e.g. the "blob-endpoint" output of setup-remote-state',
    example: 'https://contoso1tfstate1a2b3c.blob.core.windows.net',
  });
}
