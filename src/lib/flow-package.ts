import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as core from '@actions/core';
import ignore, { type Ignore } from 'ignore';
import type { ContainerClient } from '@azure/storage-blob';
import { formatBytes } from './bytes.js';
import { GuidedError } from './errors.js';
import { sha256OfFile } from './file-hash.js';
import { isNotFound } from './retry.js';

/**
 * A flow's code as Prefect's workers pull it: the files of one directory (minus what `.prefectignore`
 * excludes), addressed by a hash of their content so the same code is uploaded once and a deployment
 * always points at exactly the code it was registered with.
 *
 * The hash is SHA-256 over the sorted lines `<relative posix path>\0<sha256 of the file>\n`: renaming a
 * file, changing a byte, adding or removing a file each give a new hash; file times and the directory's
 * location do not. The folder is `<prefix>/<first 16 hex digits>`.
 *
 * The upload writes `.bakery-manifest.json` (the file list with each file's hash) LAST: its presence
 * means every file before it arrived, so an interrupted upload is simply repeated, and a finished one
 * is never repeated. Prefect's pull step downloads the manifest along with the code; it is harmless.
 */

export const MANIFEST_NAME = '.bakery-manifest.json';
export const IGNORE_FILE = '.prefectignore';
/** Hex digits of the content hash used in the folder name (64 bits: no collision within one flow's history). */
const FOLDER_HASH_LENGTH = 16;
const UPLOAD_CONCURRENCY = 8;
/** A flow directory this big almost always holds data or a virtualenv that .prefectignore should exclude. */
const LARGE_PACKAGE_BYTES = 100 * 1024 * 1024;

/**
 * Used only when the directory has no `.prefectignore`; the same kinds of things Prefect's own
 * `prefect init` template excludes (build artefacts, environments, editor and VCS folders).
 */
export const DEFAULT_IGNORE_PATTERNS = [
  '__pycache__/', '*.py[cod]', '*$py.class', '*.egg-info/', '.mypy_cache/', '.pytest_cache/', '.ipynb_checkpoints/',
  '.env', '.venv/', 'venv/', 'env/', '.python-version', 'dask-worker-space/', '.DS_Store', '.idea/', '.vscode/', '.hg/',
];

export interface PackageFile {
  /** Relative to the package root, with `/` separators. */
  path: string;
  absolutePath: string;
  size: number;
  sha256: string;
}

export interface FlowPackage {
  root: string;
  files: PackageFile[];
  /** Full SHA-256 of the content (hex). */
  contentHash: string;
  /** The hash's first 16 hex digits: the folder name. */
  shortHash: string;
  totalBytes: number;
  /** Where the ignore rules came from. */
  ignoreRules: 'prefectignore' | 'defaults';
  /** Paths left out by the ignore rules (directories end in `/`), for the log. */
  ignored: string[];
}

/** Byte-order comparison: the same order on every machine and locale. */
function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

export function contentHashOf(files: readonly { path: string; sha256: string }[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort(byPath)) hash.update(`${file.path}\0${file.sha256}\n`);
  return hash.digest('hex');
}

async function loadIgnoreRules(root: string): Promise<{ rules: Ignore; source: FlowPackage['ignoreRules'] }> {
  // .git never belongs in a flow package, whatever the ignore file says.
  const rules = ignore().add('.git/').add(MANIFEST_NAME);
  try {
    rules.add(await readFile(path.join(root, IGNORE_FILE), 'utf8'));
    return { rules, source: 'prefectignore' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { rules: rules.add(DEFAULT_IGNORE_PATTERNS), source: 'defaults' };
  }
}

/**
 * Lists and hashes the files under `root`. Symbolic links to files are followed (their content is
 * packaged, as Prefect's own push does); links to directories are not descended, so a link loop or a
 * link to `/` cannot pull in the machine.
 */
export async function collectFlowPackage(root: string): Promise<FlowPackage> {
  const { rules, source } = await loadIgnoreRules(root);
  const files: PackageFile[] = [];
  const ignored: string[] = [];

  async function walk(relativeDir: string): Promise<void> {
    const entries = await readdir(path.join(root, relativeDir), { withFileTypes: true });
    for (const entry of entries) {
      const relative = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
      const absolute = path.join(root, relative);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(absolute).catch(() => undefined);
        isFile = target?.isFile() ?? false;
        isDirectory = false;
        if (!isFile) {
          core.info(`  skipped ${relative}: a link to a directory or to nothing`);
          continue;
        }
      }
      if (isDirectory) {
        if (rules.ignores(`${relative}/`)) ignored.push(`${relative}/`);
        else await walk(relative);
      } else if (isFile) {
        if (rules.ignores(relative)) ignored.push(relative);
        else files.push({ path: relative, absolutePath: absolute, size: (await stat(absolute)).size, sha256: await sha256OfFile(absolute) });
      }
    }
  }

  await walk('');
  files.sort(byPath);
  const contentHash = contentHashOf(files);
  return {
    root,
    files,
    contentHash,
    shortHash: contentHash.slice(0, FOLDER_HASH_LENGTH),
    totalBytes: files.reduce((sum, file) => sum + file.size, 0),
    ignoreRules: source,
    ignored: ignored.sort(),
  };
}

export interface UploadResult {
  /** False when the folder already held this exact content (the manifest was there). */
  uploaded: boolean;
  folder: string;
  files: number;
  bytes: number;
}

interface Manifest {
  contentHash: string;
  files: { path: string; sha256: string; size: number }[];
  source?: string;
}

async function readManifest(container: ContainerClient, folder: string): Promise<Manifest | undefined> {
  const blob = container.getBlockBlobClient(`${folder}/${MANIFEST_NAME}`);
  try {
    const buffer = await blob.downloadToBuffer();
    return JSON.parse(buffer.toString('utf8')) as Manifest;
  } catch (error) {
    if (isNotFound(error)) {
      // A HEAD answer has no body: the service's error code is then only in the x-ms-error-code header.
      const code = (error as { code?: string; details?: { errorCode?: string } }).code ?? (error as { details?: { errorCode?: string } }).details?.errorCode;
      if (code === 'ContainerNotFound') {
        throw new GuidedError(
          `The flow-storage container "${container.containerName}" does not exist at ${container.url}`,
          'Check "flow-storage-container" (the bakery stack\'s flow_storage_container_name output); the deploy step creates it.',
        );
      }
      return undefined;
    }
    if (error instanceof SyntaxError) return undefined; // a damaged manifest: upload again
    throw error;
  }
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

/**
 * Uploads `pkg` to `<folder>/` in `container` unless the manifest of the same content is there. `source`
 * (e.g. repository@sha) is recorded in the manifest for whoever wonders where the code came from.
 */
export async function uploadFlowPackage(container: ContainerClient, folder: string, pkg: FlowPackage, source?: string): Promise<UploadResult> {
  const existing = await readManifest(container, folder);
  if (existing?.contentHash === pkg.contentHash) {
    return { uploaded: false, folder, files: pkg.files.length, bytes: pkg.totalBytes };
  }
  if (pkg.totalBytes > LARGE_PACKAGE_BYTES) {
    core.warning(`The flow package in ${pkg.root} is ${formatBytes(pkg.totalBytes)}; if it holds data or an environment, list it in ${IGNORE_FILE}.`);
  }
  let done = 0;
  let lastReport = Date.now();
  await inParallel(pkg.files, UPLOAD_CONCURRENCY, async (file) => {
    await container.getBlockBlobClient(`${folder}/${file.path}`).uploadFile(file.absolutePath);
    done++;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      core.info(`  … ${done} of ${pkg.files.length} files uploaded`);
    }
  });
  const manifest: Manifest = { contentHash: pkg.contentHash, files: pkg.files.map(({ path: p, sha256, size }) => ({ path: p, sha256, size })), source };
  const body = JSON.stringify(manifest, null, 2);
  await container.getBlockBlobClient(`${folder}/${MANIFEST_NAME}`).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  return { uploaded: true, folder, files: pkg.files.length, bytes: pkg.totalBytes };
}
