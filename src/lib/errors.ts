/**
 * Two kinds of failure the user can act on, distinct from bugs (any other Error):
 * - ConfigurationError: the workflow gave a bad input. Thrown before any side effect; names the input,
 *   what is wrong with its value, and how to fix it.
 * - GuidedError: an outside service or tool refused or failed in a way we recognise; carries what to do.
 * Neither prints a stack trace; a bug prints its stack only under ACTIONS_STEP_DEBUG.
 */
export class ConfigurationError extends Error {
  // Typed string (not the literal) so a subclass can name itself.
  override readonly name: string = 'ConfigurationError';
  constructor(
    readonly input: string | undefined,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(input ? `Input "${input}" ${problem}. ${fix}` : `${problem}. ${fix}`);
  }
}

export class GuidedError extends Error {
  override readonly name: string = 'GuidedError';
  /** What failed, without the guidance (`message` holds both). */
  readonly headline: string;
  constructor(
    message: string,
    /** What the user should do next (may span several lines). */
    readonly guidance: string,
  ) {
    super(guidance ? `${message}\n${guidance}` : message);
    this.headline = message;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
