import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import type { getOctokit } from '@actions/github';
import { GuidedError, errorMessage } from './errors.js';
import { GITHUB_COMMENT_LIMIT } from './plan-summary.js';
import { httpStatusOf, parseRetryAfter, withRetry } from './retry.js';

/**
 * Sticky pull-request comments: one comment per key (for plans: environment, working directory and
 * label), found again through a hidden marker and edited in place, so a matrix of plans in one pull
 * request gives one comment each and re-runs never pile up. Only comments written by this token's own
 * identity are ever edited — another user's comment that happens to carry the same marker is left alone.
 * Octokit (@actions/github) is imported only when a comment is actually made.
 */

export type GitHubClient = ReturnType<typeof getOctokit>;


/** The login of comments made with a workflow's GITHUB_TOKEN. */
export const GITHUB_ACTIONS_BOT = 'github-actions[bot]';

export interface RunContext {
  eventName: string;
  sha: string;
  owner: string;
  repo: string;
  /** The webhook payload (GITHUB_EVENT_PATH), `{}` when absent. */
  payload: Record<string, unknown>;
  /** `https://github.com/<owner>/<repo>/actions/runs/<id>`, when the runner says where. */
  runUrl?: string;
}

/** What the runner tells every step about the run, read from its environment without Octokit. */
export function readRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/');
  let payload: Record<string, unknown> = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as Record<string, unknown>;
    } catch {
      payload = {};
    }
  }
  const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/$/, '');
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    sha: env.GITHUB_SHA ?? '',
    owner,
    repo,
    payload,
    runUrl: env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined,
  };
}

/** Octokit for this token against `baseUrl` (GITHUB_API_URL by default, so GHES works). */
export async function createGitHubClient(token: string, baseUrl: string): Promise<GitHubClient> {
  const github = await import('@actions/github');
  return github.getOctokit(token, { baseUrl: baseUrl.replace(/\/+$/, '') });
}

/**
 * The hidden marker that identifies one sticky comment, e.g.
 * `<!-- azure-bakery-plan:environment=dev&working-directory=terraform%2Fstacks%2Fbakery&label= -->`.
 * Values are URI-encoded so no value can end the HTML comment early.
 */
export function commentMarker(kind: string, key: Record<string, string>): string {
  const encoded = Object.entries(key)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  return `<!-- azure-bakery-${kind}:${encoded} -->`;
}

/** Working directories compare equal however they were written (`./a/b/`, `a/b`). */
export function normaliseWorkingDirectory(workingDirectory: string): string {
  const posix = path.posix.normalize(workingDirectory.split(path.sep).join('/').replace(/\\/g, '/'));
  return posix.replace(/^\.\//, '').replace(/\/$/, '') || '.';
}

/** 5xx, 429 and a secondary rate limit (403 with Retry-After) are worth another attempt. */
function isRetryableGitHubError(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status === undefined) return false;
  if (status >= 500 || status === 429) return true;
  const headers = (error as { response?: { headers?: Record<string, string> } }).response?.headers ?? {};
  return status === 403 && (headers['retry-after'] !== undefined || headers['x-ratelimit-remaining'] === '0');
}

function githubRetryAfter(error: unknown): number | undefined {
  const headers = (error as { response?: { headers?: Record<string, string> } }).response?.headers ?? {};
  return parseRetryAfter(headers['retry-after']);
}

function withGitHubRetry<T>(what: string, operation: () => Promise<T>): Promise<T> {
  return withRetry(operation, {
    attempts: 4,
    baseDelayMs: 1000,
    isRetryable: isRetryableGitHubError,
    retryAfterMs: githubRetryAfter,
    onRetry: ({ attempt, delayMs, error }) => core.info(`GitHub ${what} failed (${errorMessage(error)}); attempt ${attempt + 1} in ${Math.round(delayMs / 1000)} s`),
  });
}

/**
 * The login this token writes comments as. A user token (PAT) can read GET /user. An installation
 * token (GITHUB_TOKEN, a GitHub App's) gets 403 there and cannot call GET /app either (that needs the
 * app's JWT), so it is GITHUB_TOKEN's `github-actions[bot]` — unless `override` names the app's bot.
 */
export async function resolveCommentAuthor(client: GitHubClient, override?: string): Promise<string> {
  if (override) return override;
  try {
    const { data } = await withGitHubRetry('GET /user', () => client.rest.users.getAuthenticated());
    return data.login;
  } catch (error) {
    if (httpStatusOf(error) === 401) {
      throw new GuidedError('GitHub refused "github-token" (401 Bad credentials)', 'Pass a valid token: the default `${{ github.token }}` works when the job has `permissions: pull-requests: write`.');
    }
    if (httpStatusOf(error) !== 403) throw error;
  }
  try {
    const { data } = await client.rest.apps.getAuthenticated();
    if (data?.slug) return `${data.slug}[bot]`;
  } catch {
    // Expected for installation tokens: only the app's JWT may call GET /app.
  }
  return GITHUB_ACTIONS_BOT;
}

export interface PullRequestRef {
  number: number;
  /** How it was found, for the log. */
  source: string;
}

/**
 * The pull request this run belongs to: the event's own on pull_request(_target), pull_request_review
 * and comments on a pull request; otherwise (push, workflow_dispatch, schedule, ...) the open pull
 * request whose head is this commit, then any open one containing it, then the merged one it came from.
 */
export async function findPullRequest(client: GitHubClient, run: RunContext): Promise<PullRequestRef | undefined> {
  const pullRequest = run.payload.pull_request as { number?: number } | undefined;
  if (pullRequest?.number) return { number: pullRequest.number, source: `the ${run.eventName} event` };
  const issue = run.payload.issue as { number?: number; pull_request?: unknown } | undefined;
  if (issue?.number && issue.pull_request) return { number: issue.number, source: `the ${run.eventName} event` };
  if (!run.sha || !run.owner) return undefined;
  const { data } = await withGitHubRetry('GET /commits/{sha}/pulls', () =>
    client.rest.repos.listPullRequestsAssociatedWithCommit({ owner: run.owner, repo: run.repo, commit_sha: run.sha, per_page: 100 }),
  );
  const chosen =
    data.find((pr) => pr.state === 'open' && pr.head.sha === run.sha) ?? data.find((pr) => pr.state === 'open') ?? data.find((pr) => pr.merged_at);
  return chosen ? { number: chosen.number, source: `commit ${run.sha.slice(0, 7)}` } : undefined;
}

export interface StickyCommentRequest {
  owner: string;
  repo: string;
  issueNumber: number;
  marker: string;
  /** The comment without the marker; it is prepended here. */
  body: string;
  /** Whose comments may be edited (see resolveCommentAuthor). */
  author: string;
  /** False: only update an existing comment (comment: on-change with nothing to say). */
  create: boolean;
}

export interface StickyCommentResult {
  action: 'created' | 'updated' | 'unchanged' | 'skipped';
  url?: string;
  id?: number;
}

/** Creates or edits in place the one comment carrying `marker` written by `author`. */
export async function upsertStickyComment(client: GitHubClient, request: StickyCommentRequest): Promise<StickyCommentResult> {
  const body = `${request.marker}\n${request.body}`;
  if (body.length > GITHUB_COMMENT_LIMIT) throw new Error(`comment body is ${body.length} characters; GitHub's limit is ${GITHUB_COMMENT_LIMIT}`);
  const comments = await withGitHubRetry('list comments', () =>
    client.paginate(client.rest.issues.listComments, { owner: request.owner, repo: request.repo, issue_number: request.issueNumber, per_page: 100 }),
  );
  const author = request.author.toLowerCase();
  const ours = comments.find((comment) => comment.user?.login.toLowerCase() === author && (comment.body ?? '').includes(request.marker));
  const othersWithMarker = comments.filter((comment) => comment.user?.login.toLowerCase() !== author && (comment.body ?? '').includes(request.marker));
  if (othersWithMarker.length) {
    core.info(`Leaving ${othersWithMarker.length} comment(s) with the same marker by ${[...new Set(othersWithMarker.map((c) => c.user?.login))].join(', ')} alone: they are not ${request.author}'s`);
  }
  if (ours) {
    if (ours.body === body) return { action: 'unchanged', url: ours.html_url, id: ours.id };
    const { data } = await withGitHubRetry('update comment', () =>
      client.rest.issues.updateComment({ owner: request.owner, repo: request.repo, comment_id: ours.id, body }),
    );
    return { action: 'updated', url: data.html_url, id: data.id };
  }
  if (!request.create) return { action: 'skipped' };
  const { data } = await withGitHubRetry('create comment', () =>
    client.rest.issues.createComment({ owner: request.owner, repo: request.repo, issue_number: request.issueNumber, body }),
  );
  return { action: 'created', url: data.html_url, id: data.id };
}

/** Why a comment could not be written, with what to change; for a warning (the plan itself stands). */
export function describeCommentFailure(error: unknown): string {
  if (error instanceof GuidedError) return error.message;
  const status = httpStatusOf(error);
  if (status === 403 || status === 404) {
    return `GitHub refused the comment (${status}): give the job \`permissions: pull-requests: write\` (a pull request from a fork gets a read-only token; use the job summary there).`;
  }
  return `Could not write the pull-request comment: ${errorMessage(error)}`;
}
