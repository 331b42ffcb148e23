import { chmodSync, existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The stand-in CLI (see the comment at its top for the FAKE_TF_* variables it obeys). */
export const FAKE_TERRAFORM = path.join(import.meta.dirname, 'fake-terraform', 'terraform');

export interface FakeTerraformCall {
  argv: string[];
  command: string;
  cwd: string;
  /** The TF_* and ARM_* variables it was run with. */
  env: Record<string, string>;
}

export interface FakeTerraform {
  /** A directory holding `terraform` and `tofu`, to put first on PATH. */
  binDir: string;
  /** The file the fake appends its calls to (FAKE_TF_CALLS). */
  callsFile: string;
  /** PATH with binDir first. */
  path: string;
  /** Environment that makes a process use this fake. */
  env: Record<string, string>;
  calls(): FakeTerraformCall[];
}

/** A fresh PATH directory with the fake as `terraform` and `tofu`, and an empty call log. */
export function installFakeTerraform(): FakeTerraform {
  chmodSync(FAKE_TERRAFORM, 0o755); // git may not keep the executable bit
  const binDir = mkdtempSync(path.join(tmpdir(), 'fake-terraform-'));
  for (const name of ['terraform', 'tofu']) symlinkSync(FAKE_TERRAFORM, path.join(binDir, name));
  const callsFile = path.join(binDir, 'calls.jsonl');
  const searchPath = `${binDir}${path.delimiter}${process.env.PATH ?? ''}`;
  return {
    binDir,
    callsFile,
    path: searchPath,
    env: { PATH: searchPath, FAKE_TF_CALLS: callsFile },
    calls: () =>
      existsSync(callsFile)
        ? readFileSync(callsFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as FakeTerraformCall)
        : [],
  };
}
