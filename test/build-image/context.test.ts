import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createExcluder, dockerignorePatterns, listContextFiles, packContext, terraformFilesWarning, terraformWorkingFiles } from '../../src/build-image/context.js';
import { parseDuration } from '../../src/lib/duration.js';
import { RUN_AS_USER } from '../../src/setup-agent/manifests.js';
import { REPO_ROOT } from '../support/run-dist.js';

describe('.dockerignore, with Docker\'s semantics', () => {
  it('anchors patterns at the context root, as Docker does (unlike .gitignore)', () => {
    const excluded = createExcluder(dockerignorePatterns('*.md\n'));
    expect(excluded('README.md')).toBe(true);
    expect(excluded('docs/guide.md')).toBe(false);
    expect(createExcluder(dockerignorePatterns('**/*.md\n'))('docs/guide.md')).toBe(true);
  });

  it('lets a later exception re-include a file inside an excluded directory', () => {
    const excluded = createExcluder(dockerignorePatterns('cache\n!cache/keep.txt\n'));
    expect(excluded('cache/blob.bin')).toBe(true);
    expect(excluded('cache/keep.txt')).toBe(false);
  });

  it('ignores comments and blank lines, and cleans leading slashes and ./', () => {
    expect(dockerignorePatterns('# comment\n\n/build/\n./dist\n!/keep\n')).toEqual(['/build', '/dist', '!/keep']);
  });

  it('sends the repository\'s Bakery context as its .dockerignore says: the Dockerfile and requirements only', async () => {
    const context = path.join(REPO_ROOT, 'docker/bakery');
    const { files } = await listContextFiles(context, ['Dockerfile', '.dockerignore']);
    expect(files).toEqual(['.dockerignore', 'Dockerfile', 'requirements.txt']);
    const tar = gunzipSync(await packContext(context, files)).toString('latin1');
    expect(tar).toContain('requirements.txt');
    expect(tar).toContain('prefect==');
  });

  it('packs only the listed files, without owner names', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ctx-'));
    mkdirSync(path.join(dir, 'a'));
    writeFileSync(path.join(dir, 'a/one.txt'), 'one');
    writeFileSync(path.join(dir, 'two.txt'), 'two');
    const tar = gunzipSync(await packContext(dir, ['a/one.txt'])).toString('latin1');
    expect(tar).toContain('a/one.txt');
    expect(tar).not.toContain('two.txt');
  });
});

describe("Terraform's working files in a build context", () => {
  it('names each .terraform folder once, and state files and their backups, but not configuration or the lock file', () => {
    expect(
      terraformWorkingFiles([
        'Dockerfile',
        'infra/.terraform/terraform.tfstate',
        'infra/.terraform/providers/registry.terraform.io/hashicorp/azurerm/4.14.0/linux_amd64/terraform-provider-azurerm_v4.14.0_x5',
        'infra/.terraform.lock.hcl',
        'infra/main.tf',
        'infra/terraform.tfstate',
        'infra/terraform.tfstate.backup',
        'terraform/modules/net/main.tf',
        '.terraform/environment',
        'notes/tfstate.md',
      ]),
    ).toEqual(['.terraform/', 'infra/.terraform/', 'infra/terraform.tfstate', 'infra/terraform.tfstate.backup']);
    expect(terraformFilesWarning(['Dockerfile', 'flows/flow.py', 'infra/main.tf'])).toBeUndefined();
  });

  it('warns with the .dockerignore lines that leave them out; with those lines the listing holds none', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ctx-tf-'));
    const files = { Dockerfile: 'FROM python:3.12-slim\nCOPY . .\n', 'infra/main.tf': 'terraform {}\n', 'infra/.terraform/terraform.tfstate': '{"backend":{}}\n', 'infra/terraform.tfstate': '{"outputs":{}}\n' };
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    const warning = terraformFilesWarning((await listContextFiles(dir)).files);
    expect(warning).toContain("The build context holds Terraform's working files (infra/.terraform/, infra/terraform.tfstate)");
    expect(warning).toContain('Add "**/.terraform" and "**/*.tfstate*" to the .dockerignore');
    // The fix the warning gives works, with Docker's matching.
    writeFileSync(path.join(dir, '.dockerignore'), '**/.terraform\n**/*.tfstate*\n');
    const { files: listed } = await listContextFiles(dir);
    expect(listed).toEqual(['.dockerignore', 'Dockerfile', 'infra/main.tf']);
    expect(terraformFilesWarning(listed)).toBeUndefined();
  });
});

describe('the Bakery image definition', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'docker/bakery/Dockerfile'), 'utf8');
  const requirements = readFileSync(path.join(REPO_ROOT, 'docker/bakery/requirements.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('pins every Python package with == and carries the packages the Bakery needs', () => {
    for (const line of requirements) expect(line).toMatch(/^[A-Za-z0-9._-]+==\d[\w.]*$/);
    const names = requirements.map((line) => line.split('==')[0]!.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['prefect', 'prefect-azure', 'prefect-kubernetes', 'dask-kubernetes', 'adlfs', 'pangeo-forge-recipes']));
    expect(requirements.find((line) => line.startsWith('prefect=='))).toMatch(/^prefect==3\./);
  });

  it('runs as the numeric non-root user the worker Deployment expects', () => {
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
    expect(users.at(-1)).toBe(`${RUN_AS_USER}:${RUN_AS_USER}`);
    expect(dockerfile).toMatch(/^FROM \$\{PYTHON_IMAGE\} AS runtime$/m);
    expect(dockerfile).toMatch(/^ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+$/m);
  });
});

describe('durations', () => {
  it('reads Go-style durations and bare seconds', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2.5s')).toBe(2500);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('10 m')).toBeUndefined();
  });
});
