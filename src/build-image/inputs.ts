import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { readAzureAuth, type AzureAuth } from '../lib/azure-auth.js';
import { readResourceGroup, workspaceDirectory } from '../lib/common-inputs.js';
import { readDuration } from '../lib/duration.js';
import { ConfigurationError } from '../lib/errors.js';
import { readBoolean, readEnum, readKeyValues, readList, readString } from '../lib/inputs.js';
import type { Architecture, Variant } from '../lib/acr.js';
import { workspaceRoot } from '../lib/runner-env.js';

export const MODES = ['acr-task', 'docker'] as const;
export type Mode = (typeof MODES)[number];

export interface Platform {
  /** As docker writes it: linux/amd64, linux/arm64, linux/arm/v7. */
  text: string;
  architecture: Architecture;
  variant?: Variant;
}

export interface Inputs {
  mode: Mode;
  auth: AzureAuth;
  registryName?: string;
  /** myregistry.azurecr.io; looked up through ARM when not given and needed. */
  registryLoginServer?: string;
  resourceGroup?: string;
  /** Repository inside the registry, e.g. bakery/worker. */
  imageName: string;
  /** Absolute path of the build context. */
  context: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** The Dockerfile relative to the context, with forward slashes (what ACR and docker resolve). */
  dockerfileInContext?: string;
  /** Commit SHA first, then the extra tags, without duplicates. */
  tags: string[];
  buildArgs: Record<string, string>;
  platform: Platform;
  target?: string;
  noCache: boolean;
  /** ACR Tasks run timeout. */
  timeoutMs: number;
  /** docker mode: log docker in to the registry with the Azure identity (`az acr login`). */
  dockerLogin: boolean;
}

const REGISTRY_NAME = /^[a-zA-Z0-9]{5,50}$/;
const LOGIN_SERVER = /^[a-z0-9.-]+(:\d+)?$/;
/** The distribution spec's repository name grammar, lowercase path components. */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const BUILD_ARG = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLATFORMS: Record<string, Omit<Platform, 'text'>> = {
  'linux/amd64': { architecture: 'amd64' },
  'linux/arm64': { architecture: 'arm64', variant: 'v8' },
  'linux/arm64/v8': { architecture: 'arm64', variant: 'v8' },
  'linux/arm/v7': { architecture: 'arm', variant: 'v7' },
  'linux/arm/v6': { architecture: 'arm', variant: 'v6' },
  'linux/386': { architecture: 'x86' },
};

export function readInputs(): Inputs {
  const mode = readEnum('mode', MODES, 'acr-task');
  const auth = readAzureAuth({ allowConnectionString: false, needsSubscription: true });
  const registryName = readString('registry-name', { pattern: REGISTRY_NAME, expected: '5–50 letters or digits (the registry\'s name, not its login server)', example: 'bakeryacr' });
  const registryLoginServer = readString('registry-login-server', { pattern: LOGIN_SERVER, expected: 'a registry host name without scheme or path', example: 'bakeryacr.azurecr.io' })?.toLowerCase();
  const resourceGroup = readResourceGroup();
  if (mode === 'acr-task') {
    if (!registryName) throw new ConfigurationError('registry-name', 'is required with mode "acr-task" (ACR Tasks runs in the registry)', 'Pass the deploy step\'s `registry-name` output, e.g. "bakeryacr".');
    if (!resourceGroup) throw new ConfigurationError('resource-group', 'is required with mode "acr-task"', 'Pass the deploy step\'s `resource-group-name` output.');
  } else if (!registryLoginServer && !(registryName && resourceGroup)) {
    throw new ConfigurationError('registry-login-server', 'is empty, and without "registry-name" and "resource-group" it cannot be looked up', 'Pass the deploy step\'s `registry-login-server` output, e.g. "bakeryacr.azurecr.io".');
  }

  const imageName = readString('image-name', { required: true, pattern: REPOSITORY, expected: 'a lowercase repository name (letters, digits, . _ - separators, / for paths), without registry or tag', example: 'bakery/worker' });

  const workspace = workspaceRoot();
  const contextInput = readString('context', { default: '.' });
  const context = workspaceDirectory('context', contextInput, 'Set "context" to the directory to build, relative to the repository root.');
  const dockerfileInput = readString('dockerfile');
  const dockerfile = dockerfileInput ? path.resolve(workspace, dockerfileInput) : path.join(context, 'Dockerfile');
  if (!existsSync(dockerfile) || !statSync(dockerfile).isFile()) {
    throw new ConfigurationError('dockerfile', `${dockerfileInput ? `is "${dockerfileInput}", which` : `is empty and ${path.relative(workspace, dockerfile) || 'Dockerfile'}`} does not exist`, 'Set "dockerfile" to the Dockerfile\'s path relative to the repository root, e.g. docker/bakery/Dockerfile.');
  }
  const relative = path.relative(context, dockerfile);
  const dockerfileInContext = relative.startsWith('..') || path.isAbsolute(relative) ? undefined : relative.split(path.sep).join('/');
  if (mode === 'acr-task' && !dockerfileInContext) {
    throw new ConfigurationError('dockerfile', `is outside the build context "${contextInput}"; ACR Tasks only receives the context`, 'Move the Dockerfile into the context directory, or widen "context".');
  }

  const sha = process.env.GITHUB_SHA ?? '';
  if (!/^[0-9a-f]{40}$/.test(sha)) {
    throw new ConfigurationError(undefined, `GITHUB_SHA is ${JSON.stringify(sha)}, not a commit SHA, so the image cannot be tagged with its commit`, 'Run this action in a GitHub Actions job (GITHUB_SHA is set by the runner)');
  }
  const extraTags = readList('tags');
  for (const tag of extraTags) {
    if (!TAG.test(tag)) {
      throw new ConfigurationError('tags', `holds ${JSON.stringify(tag)}, which is not a valid image tag`, 'Use tags of letters, digits, _ . - (not starting with . or -), at most 128 characters, one per line or comma-separated, e.g. "latest, dev".');
    }
  }
  const tags = [...new Set([sha, ...extraTags])];

  const buildArgs = readKeyValues('build-args', { keyPattern: BUILD_ARG, keyExpected: 'a build argument name (letters, digits, _; not starting with a digit)' });
  const platformText = readString('platform', { default: 'linux/amd64' }).toLowerCase();
  const platform = PLATFORMS[platformText];
  if (!platform) {
    throw new ConfigurationError('platform', `is ${JSON.stringify(platformText)}, which is not a platform this action builds`, `Set "platform" to one of: ${Object.keys(PLATFORMS).join(', ')} (one platform per build).`);
  }
  const target = readString('target', { pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, expected: 'a build stage name from the Dockerfile (FROM … AS <name>)', example: 'runtime' });

  return {
    mode,
    auth,
    registryName,
    registryLoginServer,
    resourceGroup,
    imageName,
    context,
    dockerfile,
    dockerfileInContext,
    tags,
    buildArgs,
    platform: { text: platformText, ...platform },
    target,
    noCache: readBoolean('no-cache', false),
    timeoutMs: readDuration('timeout', { default: '1h', min: '5m', max: '8h' }),
    dockerLogin: readBoolean('docker-login', true),
  };
}
