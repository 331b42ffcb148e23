import { expect } from 'vitest';
import { ConfigurationError } from '../../src/lib/errors.js';
import { inputEnv } from './run-dist.js';

/**
 * Inputs for readers called directly (readString, readAzureAuth, an action's readInputs) rather than
 * through run(): set as the runner sets them (INPUT_<NAME>), and removed again by clearInputs(), which
 * a test file calls in afterEach.
 */
const setByTests = new Set<string>();

export function setInputs(inputs: Record<string, string>): void {
  for (const [key, value] of Object.entries(inputEnv(inputs))) {
    process.env[key] = value;
    setByTests.add(key);
  }
}

export function setInput(name: string, value: string): void {
  setInputs({ [name]: value });
}

export function clearInputs(): void {
  for (const key of setByTests) delete process.env[key];
  setByTests.clear();
}

/** `read()` with exactly `inputs` set (inputs set before are removed first). */
export function readWith<T>(inputs: Record<string, string>, read: () => T): T {
  clearInputs();
  setInputs(inputs);
  return read();
}

/** The ConfigurationError `read` throws; the test fails when it throws nothing or anything else. */
export function configurationErrorOf(read: () => unknown): ConfigurationError {
  let thrown: unknown;
  try {
    read();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a ConfigurationError').toBeInstanceOf(ConfigurationError);
  return thrown as ConfigurationError;
}
