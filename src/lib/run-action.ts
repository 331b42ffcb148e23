import * as core from '@actions/core';
import { ConfigurationError, GuidedError, errorMessage } from './errors.js';
import { scrub } from './mask.js';

/**
 * The one entry wrapper every action's index.ts uses: runs `main`, and turns anything thrown into
 * `core.setFailed("<action>: <message>")` with every known secret scrubbed. User mistakes
 * (ConfigurationError) and recognised outside failures (GuidedError) print no stack trace; a bug prints
 * its stack only through `core.debug`, which the runner shows under ACTIONS_STEP_DEBUG.
 */
export async function runAction(actionName: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    reportFailure(actionName, error);
  }
}

export function reportFailure(actionName: string, error: unknown): void {
  const message = scrub(errorMessage(error));
  core.setFailed(`${actionName}: ${message}`);
  const expected = error instanceof ConfigurationError || error instanceof GuidedError;
  if (!expected && error instanceof Error && error.stack) core.debug(scrub(error.stack));
}
