/**
 * `terraform fmt -check` over the whole tree, when a terraform binary is on PATH (it is not on every
 * machine that runs these tests; the parse and schema checks in the other files always run). Formatting
 * needs no providers or registry, so this is the one real Terraform check that can run offline.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TERRAFORM_ROOT } from './support/hcl.js';

function terraformOnPath(): boolean {
  try {
    execFileSync('terraform', ['version'], { stdio: 'ignore', env: { ...process.env, HOME: tmpdir() } });
    return true;
  } catch {
    return false;
  }
}

const fmtCheck = (dir: string) =>
  promisify(execFile)('terraform', ['fmt', '-check', '-recursive', '-list=true', dir], { env: { ...process.env, HOME: tmpdir() } });

describe.skipIf(!terraformOnPath())('terraform fmt', () => {
  it('finds every .tf file formatted as `terraform fmt` writes it', async () => {
    const { stdout } = await fmtCheck(TERRAFORM_ROOT).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(stdout.trim(), `run \`terraform fmt -recursive terraform\` to fix:\n${stdout}`).toBe('');
  });

  it('fails on a misaligned file (the check can fail)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fmt-'));
    writeFileSync(path.join(dir, 'main.tf'), 'locals {\n  a = 1\n  bbbb = 2\n}\n');
    await expect(fmtCheck(dir)).rejects.toMatchObject({ stdout: expect.stringContaining('main.tf') });
  });
});
