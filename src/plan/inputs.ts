import { readAzureAuth, type AzureAuth } from '../lib/azure-auth.js';
import { readCommit, readEnvironment } from '../lib/common-inputs.js';
import { ConfigurationError } from '../lib/errors.js';
import { readBoolean, readEnum, readList, readString, readUrl } from '../lib/inputs.js';
import { readRootModuleInputs, type RootModule, type RootModuleInputs } from '../lib/root-modules.js';

export const COMMENT_MODES = ['always', 'on-change', 'off'] as const;
export type CommentMode = (typeof COMMENT_MODES)[number];

export interface Inputs extends Omit<RootModuleInputs, 'modules'> {
  environment: string;
  /** The one root module planned here, with its backend config. */
  module: RootModule;
  /** Plan a destroy (`plan -destroy`). */
  destroy: boolean;
  auth: AzureAuth;
  /** Masked on read; empty when no comment can be made. */
  githubToken?: string;
  githubApiUrl: string;
  comment: CommentMode;
  /** Whose comments count as ours, for a GitHub App token (default: found from the token). */
  commentAuthor?: string;
  label?: string;
  /** Also scrubbed from everything we render (registered as secrets by readTerraformVariables). */
  secretValues: string[];
  /** The commit the plan is stored under. */
  commit: string;
  storePlan: boolean;
  /**
   * Hold the state lock while planning (Terraform's default). False runs `plan -lock=false`: the plan
   * identity then only reads the state, and concurrent plans of one environment do not collide; such
   * a plan is for review only and is never stored for deploy.
   */
  lock: boolean;
}

/** Every input of the plan action, checked before anything runs. */
export function readInputs(): Inputs {
  // First, so every credential is masked before anything else could print.
  const auth = readAzureAuth({ allowConnectionString: true, needsSubscription: true });
  const environment = readEnvironment();
  const { modules, variables, terraform, blobEndpoint } = readRootModuleInputs(environment);
  if (modules.length !== 1) {
    throw new ConfigurationError('working-directories', `names ${modules.length} root modules; plan works on one`, 'Give one "working-directory" per plan step (a matrix gives each its own comment).');
  }
  // readTerraformVariables registered them as secrets; the renderer scrubs them too.
  const secretValues = readList('secret-values');
  const comment = readEnum('comment', COMMENT_MODES, 'always');
  const githubToken = readString('github-token', { secret: true });
  const githubApiUrl = readUrl('github-api-url', {
    default: process.env.GITHUB_API_URL || 'https://api.github.com',
    expected: 'the URL of the GitHub REST API (https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server)',
    example: 'https://api.github.com',
  });
  const commentAuthor = readString('comment-author', {
    pattern: /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\[bot\])?$/,
    expected: 'a GitHub login, e.g. "my-app[bot]" for a GitHub App token',
    example: 'my-app[bot]',
  });
  const label = readString('label', { maxLength: 64, expected: 'a short name telling plans of the same directory and environment apart', example: 'eastus' });
  const commit = readCommit('a commit SHA');
  const storePlan = readBoolean('store-plan', true);
  const lock = readBoolean('lock', true);
  if (!lock && storePlan) {
    throw new ConfigurationError(
      'lock',
      'is false while "store-plan" is true',
      'A plan made without the state lock is for review only: another run may change the state while it is made, so deploy must never apply it. Set "store-plan" to false as well (it defaults to true) for a pull-request or drift plan, or leave "lock" at true for a plan that deploy applies.',
    );
  }
  if (comment !== 'off' && !githubToken) {
    throw new ConfigurationError('github-token', 'is empty while "comment" is ' + JSON.stringify(comment), 'Pass `${{ github.token }}` (the default) with `permissions: pull-requests: write`, or set "comment" to off.');
  }
  return {
    environment,
    module: modules[0]!,
    variables,
    destroy: readBoolean('destroy', false),
    terraform,
    auth,
    githubToken,
    githubApiUrl,
    comment,
    commentAuthor,
    label,
    secretValues,
    commit,
    storePlan,
    lock,
    blobEndpoint,
  };
}
