import * as core from '@actions/core';
import { formatDuration } from './duration.js';
import { GuidedError } from './errors.js';
import type { ResourceChange, TerraformPlanJson } from './plan-json.js';
import { withStatusLines } from './progress.js';
import { sleep as realSleep } from './retry.js';
import { classifyTerraformError, retryDelayMs, type ClassifiedFailure, type FailureContext } from './terraform-failures.js';

/**
 * The retry loop deploy and destroy share: run one Terraform step, and when it fails in a way
 * terraform-failures recognises as passing (throttling, a conflicting operation, a dropped
 * connection, …), wait with backoff and run it again, up to `maxAttempts` in all. A failure that
 * needs a person (quota, permissions, a held lock) stops at once with its guidance; an unrecognised
 * one is passed on as it is.
 */

export interface RetryDependencies {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface TerraformRetryOptions extends RetryDependencies {
  maxAttempts: number;
  /** "apply of terraform/stacks/bakery", for log lines. */
  what: string;
  /** What the classifier may use about the failing run (planned values, VM size variables). */
  context?: () => FailureContext;
}

export interface RetryOutcome<T> {
  result: T;
  attempts: number;
  /** The failures that were retried, oldest first. */
  retried: ClassifiedFailure[];
}

export async function withTerraformRetries<T>(step: (attempt: number) => Promise<T>, options: TerraformRetryOptions): Promise<RetryOutcome<T>> {
  const wait = options.sleep ?? realSleep;
  const retried: ClassifiedFailure[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { result: await step(attempt), attempts: attempt, retried };
    } catch (error) {
      const failure = classifyTerraformError(error, options.context?.() ?? {});
      if (!failure) throw error;
      if (!failure.retryable) throw new GuidedError(failure.summary, failure.guidance);
      if (attempt >= options.maxAttempts) {
        const tries = attempt === 1 ? 'once (max-attempts is 1)' : `${attempt} times`;
        throw new GuidedError(`${failure.summary} The ${options.what} failed ${tries}.`, failure.guidance);
      }
      retried.push(failure);
      const delayMs = retryDelayMs(failure, attempt, options.random);
      core.warning(`${options.what} failed (attempt ${attempt} of ${options.maxAttempts}): ${failure.summary} Trying again in ${formatDuration(delayMs)}.`);
      await withStatusLines(`waiting before attempt ${attempt + 1} of ${options.maxAttempts} (${options.what})`, wait(delayMs));
    }
  }
}

/** The attempts of a step for a summary: `3 (retried: throttled, network)`, or `1`. */
export function attemptsText(attempts: number, retriedKinds: readonly string[]): string {
  return retriedKinds.length ? `${attempts} (retried: ${retriedKinds.join(', ')})` : String(attempts);
}

// ---------------------------------------------------------------------------------------------------
// What a retry may apply
// ---------------------------------------------------------------------------------------------------

/** The changes a plan would make to managed resources (no-ops and data source reads left out). */
export function managedChanges(plan: TerraformPlanJson): ResourceChange[] {
  return (plan.resource_changes ?? []).filter(
    (change) => change.mode === 'managed' && change.change.actions.some((action) => action !== 'no-op' && action !== 'read'),
  );
}

export interface ScopeViolation {
  address: string;
  actions: string[];
  reason: string;
}

/**
 * Which changes of a plan made for a retry go beyond the reviewed plan. A failed apply of a saved plan
 * uses the plan up (Terraform refuses to apply it twice: part of it may be in the state already), so
 * a retry needs a new plan — and nobody reviewed that one. It may apply only what the reviewed plan
 * already showed:
 * - every resource it changes must be one the reviewed plan changed (what is left of the same change);
 * - it may replace a resource only where the reviewed plan replaced or deleted it, or created it: a
 *   create that failed half-way leaves the object tainted, and finishing it means replacing it. A
 *   replacement of a resource the reviewed plan only updated would destroy data nobody agreed to lose.
 */
export function changesOutsideReview(reviewed: TerraformPlanJson, retry: TerraformPlanJson): ScopeViolation[] {
  const reviewedByAddress = new Map(managedChanges(reviewed).map((change) => [change.address, change.change.actions]));
  const violations: ScopeViolation[] = [];
  for (const change of managedChanges(retry)) {
    const actions = change.change.actions;
    const allowed = reviewedByAddress.get(change.address);
    if (!allowed) {
      violations.push({ address: change.address, actions, reason: 'the reviewed plan did not change it' });
      continue;
    }
    if (actions.includes('delete') && !allowed.includes('delete') && !allowed.includes('create')) {
      violations.push({ address: change.address, actions, reason: `the reviewed plan would only ${allowed.join('+')} it, not delete or replace it` });
    }
  }
  return violations;
}
