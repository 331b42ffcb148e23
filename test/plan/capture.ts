/** Captures what the code under test writes to stdout (where @actions/core writes log lines and commands). */
export async function captureStdout<T>(work: () => Promise<T>): Promise<{ value?: T; error?: unknown; stdout: string }> {
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    const callback = rest[rest.length - 1];
    if (typeof callback === 'function') (callback as () => void)();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { value: await work(), stdout };
  } catch (error) {
    return { error, stdout };
  } finally {
    process.stdout.write = write;
  }
}
