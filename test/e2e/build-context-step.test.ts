import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runShellStep } from '../support/run-shell-step.js';
import { findStep } from '../workflows/workflow-files.js';

/**
 * deploy.yml's step before the image build, run with bash as a runner runs it, in a real git checkout:
 * the lifecycle test covers the bundled stack; this covers the caller's own root module, where
 * Terraform's files sit among the caller's, some of them committed.
 */

const step = findStep('.github/workflows/deploy.yml', 'apply', 'build-context');

function git(cwd: string, ...args: string[]): void {
  const result = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', ...args], { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
}

function write(root: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
}

function runStep(workspace: string, env: Record<string, string>) {
  return runShellStep(step.run as string, { cwd: workspace, env, runnerTemp: mkdtempSync(path.join(tmpdir(), 'build-context-step-')) });
}

describe("deploy.yml's step that keeps Terraform's files out of the build context", () => {
  it('runs before the build and only when the workflow builds', () => {
    expect(step.if).toBe("inputs.image == ''");
    expect(step.env).toEqual({ WORKING_DIRECTORY: '${{ steps.stack.outputs.working-directory }}', BACKEND_CONFIG_FILE: '${{ steps.state.outputs.backend-config-file }}' });
  });

  it("removes this release's checkout and the root module's .terraform, and the backend and lock files unless the caller committed them", () => {
    const workspace = mkdtempSync(path.join(tmpdir(), 'build-context-ws-'));
    write(workspace, {
      Dockerfile: 'FROM python:3.12-slim\nCOPY . .\n',
      'infra/main.tf': 'terraform {\n  backend "azurerm" {}\n}\n',
      'infra/.terraform.lock.hcl': '# committed by the caller\n',
    });
    git(workspace, 'init', '-q');
    git(workspace, 'add', '.');
    git(workspace, 'commit', '-q', '-m', 'caller');
    // What the apply job added: this release's checkout, setup-remote-state's backend file, terraform init's folder.
    write(workspace, {
      '.azure-bakery-actions/terraform/stacks/bakery/main.tf': 'terraform {}\n',
      'infra/backend-dev.hcl': 'storage_account_name = "stbakerystate"\n',
      'infra/.terraform/terraform.tfstate': '{"version":3,"backend":{"type":"azurerm"}}\n',
      'infra/.terraform/providers/registry.terraform.io/hashicorp/azurerm/4.14.0/linux_amd64/terraform-provider-azurerm_v4.14.0_x5': 'binary',
    });
    const result = runStep(workspace, { WORKING_DIRECTORY: 'infra', BACKEND_CONFIG_FILE: path.join(workspace, 'infra/backend-dev.hcl') });
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toContain("Removed this release's checkout and Terraform's working files of infra from the workspace before the image build.");
    expect(existsSync(path.join(workspace, '.azure-bakery-actions'))).toBe(false);
    expect(existsSync(path.join(workspace, 'infra/.terraform'))).toBe(false);
    expect(existsSync(path.join(workspace, 'infra/backend-dev.hcl'))).toBe(false);
    // The caller's own files stay, the committed lock file among them.
    for (const file of ['Dockerfile', 'infra/main.tf', 'infra/.terraform.lock.hcl']) expect(existsSync(path.join(workspace, file)), file).toBe(true);
  });

  it('removes an untracked lock file, and keeps a backend file the caller committed', () => {
    const workspace = mkdtempSync(path.join(tmpdir(), 'build-context-ws-'));
    write(workspace, { 'infra/main.tf': 'terraform {}\n', 'infra/backend-dev.hcl': 'key = "committed"\n' });
    git(workspace, 'init', '-q');
    git(workspace, 'add', '.');
    git(workspace, 'commit', '-q', '-m', 'caller');
    write(workspace, { 'infra/.terraform.lock.hcl': '# made by terraform init\n' });
    const result = runStep(workspace, { WORKING_DIRECTORY: 'infra', BACKEND_CONFIG_FILE: path.join(workspace, 'infra/backend-dev.hcl') });
    expect(result.status, result.stdout).toBe(0);
    expect(existsSync(path.join(workspace, 'infra/backend-dev.hcl'))).toBe(true);
    expect(existsSync(path.join(workspace, 'infra/.terraform.lock.hcl'))).toBe(false);
  });
});
