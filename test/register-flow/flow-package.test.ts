import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { ConfigurationError } from '../../src/lib/errors.js';
import { MANIFEST_NAME, collectFlowPackage, contentHashOf, uploadFlowPackage } from '../../src/lib/flow-package.js';
import { PULL_STEP } from '../../src/register-flow/prefect-flows.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { startPrefectApi } from '../support/prefect-api.js';
import { OISST_FLOW, makeWorkspace, runInProcess } from './helpers.js';

let azurite: Azurite;
let service: BlobServiceClient;

beforeAll(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});

afterAll(async () => {
  await azurite?.stop();
});

async function newContainer(name: string): Promise<ContainerClient> {
  const container = service.getContainerClient(name);
  await container.create();
  return container;
}

async function names(container: ContainerClient): Promise<string[]> {
  const found: string[] = [];
  for await (const blob of container.listBlobsFlat()) found.push(blob.name);
  return found.sort();
}

describe('collectFlowPackage', () => {
  it('honours .prefectignore (gitignore syntax, negation included) and always leaves out .git', async () => {
    const root = makeWorkspace({
      'flow.py': OISST_FLOW,
      '.prefectignore': 'data/*\n!data/grid.nc\n*.log\n',
      'data/big.nc': 'x',
      'data/grid.nc': 'kept by negation',
      'run.log': 'x',
      '.git/HEAD': 'ref: refs/heads/main',
      '__pycache__/flow.pyc': 'kept: this .prefectignore does not exclude it',
    });
    const pkg = await collectFlowPackage(root);
    expect(pkg.ignoreRules).toBe('prefectignore');
    expect(pkg.files.map((f) => f.path)).toEqual(['.prefectignore', '__pycache__/flow.pyc', 'data/grid.nc', 'flow.py']);
    expect(pkg.ignored).toEqual(['.git/', 'data/big.nc', 'run.log']);
  });

  it('uses built-in defaults without a .prefectignore: no caches, environments or .env files', async () => {
    const root = makeWorkspace({ 'flow.py': OISST_FLOW, '.env': 'AZURE_STORAGE_KEY=x', '.venv/bin/python': '', '__pycache__/a.pyc': '', 'lib/util.py': '' });
    const pkg = await collectFlowPackage(root);
    expect(pkg.ignoreRules).toBe('defaults');
    expect(pkg.files.map((f) => f.path)).toEqual(['flow.py', 'lib/util.py']);
  });

  it('hashes content and paths, not where the directory is; a rename or one changed byte changes it', async () => {
    const files = { 'flow.py': OISST_FLOW, 'lib/util.py': 'A = 1\n' };
    const a = await collectFlowPackage(makeWorkspace(files));
    const b = await collectFlowPackage(makeWorkspace(files));
    expect(a.contentHash).toBe(b.contentHash);
    expect(a.shortHash).toMatch(/^[0-9a-f]{16}$/);
    const changed = await collectFlowPackage(makeWorkspace({ ...files, 'lib/util.py': 'A = 2\n' }));
    const renamed = await collectFlowPackage(makeWorkspace({ 'flow.py': OISST_FLOW, 'lib/utils.py': 'A = 1\n' }));
    expect(new Set([a.contentHash, changed.contentHash, renamed.contentHash]).size).toBe(3);
    expect(contentHashOf([...a.files].reverse())).toBe(a.contentHash);
  });

  it('packages the content of a linked file, and does not descend a linked directory', async () => {
    const root = makeWorkspace({ 'flow.py': OISST_FLOW, 'shared/util.py': 'B = 1\n' });
    const outside = makeWorkspace({ 'secret/id_rsa': 'PRIVATE' });
    symlinkSync(path.join(root, 'shared/util.py'), path.join(root, 'util.py'));
    symlinkSync(path.join(outside, 'secret'), path.join(root, 'home'));
    const pkg = await collectFlowPackage(root);
    expect(pkg.files.map((f) => f.path)).toEqual(['flow.py', 'shared/util.py', 'util.py']);
    expect(pkg.files.find((f) => f.path === 'util.py')!.sha256).toBe(pkg.files.find((f) => f.path === 'shared/util.py')!.sha256);
  });
});

describe('uploadFlowPackage (Azurite)', () => {
  it('uploads once; the manifest, written last, marks the folder complete', async () => {
    const container = await newContainer('upload-once');
    const pkg = await collectFlowPackage(makeWorkspace({ 'flow.py': OISST_FLOW, 'lib/util.py': 'A = 1\n' }));
    const folder = `flows/noaa-oisst/${pkg.shortHash}`;
    const first = await uploadFlowPackage(container, folder, pkg, 'octo-org/octo-repo@6dcb09b5b578');
    expect(first).toMatchObject({ uploaded: true, files: 2 });
    const manifest = JSON.parse((await container.getBlockBlobClient(`${folder}/${MANIFEST_NAME}`).downloadToBuffer()).toString());
    expect(manifest).toMatchObject({ contentHash: pkg.contentHash, source: 'octo-org/octo-repo@6dcb09b5b578' });
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(['flow.py', 'lib/util.py']);
    const etags = await Promise.all((await names(container)).map(async (n) => (await container.getBlockBlobClient(n).getProperties()).etag));

    const second = await uploadFlowPackage(container, folder, pkg);
    expect(second.uploaded).toBe(false);
    const after = await Promise.all((await names(container)).map(async (n) => (await container.getBlockBlobClient(n).getProperties()).etag));
    expect(after).toEqual(etags);
  });

  it('repeats an interrupted upload: without the manifest the folder counts as incomplete', async () => {
    const container = await newContainer('interrupted');
    const root = makeWorkspace({ 'a.py': 'A = 1\n', 'b.py': 'B = 1\n', 'flow.py': OISST_FLOW });
    const pkg = await collectFlowPackage(root);
    const folder = `flows/x/${pkg.shortHash}`;
    // A container whose upload of b.py fails, as a dropped connection would.
    const failing = new Proxy(container, {
      get(target, property, receiver) {
        if (property !== 'getBlockBlobClient') return Reflect.get(target, property, receiver);
        return (name: string) => {
          const blob = target.getBlockBlobClient(name);
          if (name.endsWith('/b.py')) blob.uploadFile = async () => Promise.reject(new Error('socket hang up'));
          return blob;
        };
      },
    });
    await expect(uploadFlowPackage(failing, folder, pkg)).rejects.toThrow('socket hang up');
    expect(await names(container)).not.toContain(`${folder}/${MANIFEST_NAME}`);

    const retried = await uploadFlowPackage(container, folder, pkg);
    expect(retried.uploaded).toBe(true);
    expect(await names(container)).toEqual([`${folder}/${MANIFEST_NAME}`, `${folder}/a.py`, `${folder}/b.py`, `${folder}/flow.py`]);
  });
});

describe('register-flow with a storage connection string', () => {
  it('uploads with the key, but no key, connection string or Prefect key reaches the deployment, outputs, summary or log', async () => {
    const apiKey = 'pnu_Zq8r4AbCdEfGhIjKlMnOpQrStUvWxYz0123';
    const prefect = await startPrefectApi({ cloud: { apiKey } });
    try {
      prefect.addWorkPool('bakery');
      const container = await newContainer('flows-cs');
      const workspace = makeWorkspace({ 'flows/oisst/flow.py': OISST_FLOW });
      const result = await runInProcess({
        flows: 'flows/oisst/flow.py',
        'working-directory': workspace,
        'prefect-api-url': prefect.apiUrl,
        'prefect-api-key': apiKey,
        'work-pool': 'bakery',
        image: 'bakeryacr.azurecr.io/bakery-flows:2025.01.1',
        'flow-storage-container': 'flows-cs',
        auth: 'connection-string',
        'connection-string': azurite.connectionString,
        run: 'true',
      });
      expect(result.error).toBeUndefined();
      expect(await names(container)).toContain(`${result.outputs['code-folder']}/flow.py`);

      // The pod's pull step names the endpoint only (here taken from the connection string's BlobEndpoint).
      const body = prefect.calls('create_deployment')[0]!.body as { pull_steps: Record<string, { credentials: Record<string, string> }>[] };
      expect(body.pull_steps[0]![PULL_STEP]!.credentials).toEqual({ account_url: azurite.blobEndpoint });
      expect(result.outputs['deployment-url']).toBe(`https://127.0.0.1:${new URL(prefect.apiUrl).port}/account/${prefect.accountId}/workspace/${prefect.workspaceId}/deployments/deployment/${result.outputs['deployment-id']}`);

      const key = azurite.connectionString.match(/AccountKey=([^;]+)/)![1]!;
      const printed = result.log.split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n');
      const everything = [JSON.stringify(prefect.requests.map((r) => r.body)), JSON.stringify(result.outputs), result.summary, printed];
      for (const text of everything) {
        expect(text).not.toContain(key);
        expect(text).not.toContain('AccountKey');
        expect(text).not.toContain(apiKey);
      }
      // …and both were registered with the runner for masking.
      expect(result.log).toContain(`::add-mask::${key}`);
      expect(result.log).toContain(`::add-mask::${apiKey}`);
      expect(prefect.requests.every((r) => r.headers.authorization === `Bearer ${apiKey}`)).toBe(true);
      expect(prefect.problems).toEqual([]);
    } finally {
      await prefect.stop();
    }
  });
});

describe('a malformed connection string', () => {
  it('is a ConfigurationError before any call to Prefect or storage', async () => {
    const prefect = await startPrefectApi();
    try {
      const result = await runInProcess({
        flows: 'flows/oisst/flow.py',
        'working-directory': makeWorkspace({ 'flows/oisst/flow.py': OISST_FLOW }),
        'prefect-api-url': prefect.apiUrl,
        'work-pool': 'bakery',
        image: 'bakeryacr.azurecr.io/bakery-flows:1',
        'flow-storage-container': 'flows',
        auth: 'connection-string',
        'connection-string': 'AccountName=bakeryflows;AccountKey=not-base64!;BlobEndpoint=https://bakeryflows.blob.core.windows.net',
      });
      expect(result.error).toBeInstanceOf(ConfigurationError);
      expect((result.error as ConfigurationError).input).toBe('connection-string');
      expect(result.error!.message).not.toContain('not-base64!');
      expect(prefect.requests).toHaveLength(0);
    } finally {
      await prefect.stop();
    }
  });
});

describe('the example flow', () => {
  it('packages examples/flows/oisst without its local outputs and finds its @flow function', async () => {
    // A copy, so a local output can be added without touching the repository.
    const root = path.join(makeWorkspace({}), 'oisst');
    cpSync(path.resolve('examples/flows/oisst'), root, { recursive: true });
    mkdirSync(path.join(root, 'data'));
    writeFileSync(path.join(root, 'data', 'local.nc'), 'local output');
    const pkg = await collectFlowPackage(root);
    expect(pkg.ignoreRules).toBe('prefectignore');
    expect(pkg.files.map((f) => f.path)).toEqual(['.prefectignore', 'flow.py', 'requirements.txt']);
    expect(pkg.ignored).toContain('data/');
    const { resolvePrefectFlows } = await import('../../src/register-flow/entrypoints.js');
    const [entry] = await resolvePrefectFlows(['examples/flows/oisst/flow.py'], path.resolve('.'));
    expect(entry).toMatchObject({ functionName: 'noaa_oisst', flowName: 'noaa-oisst' });
  });
});
