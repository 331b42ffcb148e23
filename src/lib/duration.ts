import { ConfigurationError } from './errors.js';
import { rawInput } from './inputs.js';

/**
 * Durations in inputs (`rollout-timeout: 10m`, `run-timeout: 1h30m`): Go/kubectl style units h, m, s
 * and ms, combinable; a bare number means seconds.
 */

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/;

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim().toLowerCase();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!DURATION.test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  return Math.round(total);
}

/** "1h 5m 3s" style, for messages. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const parts = [Math.floor(seconds / 3600) && `${Math.floor(seconds / 3600)}h`, Math.floor((seconds % 3600) / 60) && `${Math.floor((seconds % 3600) / 60)}m`, seconds % 60 && `${seconds % 60}s`];
  return parts.filter(Boolean).join(' ');
}

/** Reads a duration input in milliseconds, within [min, max]. */
export function readDuration(name: string, rule: { default: string; min?: string; max?: string }): number {
  const value = rawInput(name) || rule.default;
  const parsed = parseDuration(value);
  const range = [rule.min && `at least ${rule.min}`, rule.max && `at most ${rule.max}`].filter(Boolean).join(' and ');
  const fix = `Set "${name}" to a duration such as 90s, 10m or 1h30m${range ? ` (${range})` : ''}.`;
  if (parsed === undefined) throw new ConfigurationError(name, `is ${JSON.stringify(value)}, which is not a duration`, fix);
  if ((rule.min && parsed < parseDuration(rule.min)!) || (rule.max && parsed > parseDuration(rule.max)!)) {
    throw new ConfigurationError(name, `is ${value}, outside the accepted range`, fix);
  }
  return parsed;
}
