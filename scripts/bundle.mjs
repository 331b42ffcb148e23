#!/usr/bin/env node
// Builds one ncc bundle per action: src/<action>/index.ts → dist/<action>/index.js (plus the chunks ncc
// splits off for lazily imported SDKs). `node scripts/bundle.mjs [action ...]`; no names = every action.
// Bundles are minified: they are committed, and every byte of them lands in the repository's history.
// ncc minifies only the entry file; the chunks it splits off for lazily imported SDKs (ES modules) get
// the same terser pass here, which makes them about three times smaller.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, existsSync, renameSync, readFileSync, writeFileSync } from 'node:fs';
import { minify } from 'terser';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const all = readdirSync(path.join(root, 'src'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(path.join(root, 'src', entry.name, 'index.ts')))
  .map((entry) => entry.name)
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length) {
  console.error(`No action named ${unknown.join(', ')}; actions are: ${all.join(', ')}`);
  process.exit(2);
}
const ncc = path.join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js');
for (const action of wanted.length ? wanted : all) {
  const out = path.join(root, 'dist', action);
  // Build beside the old bundle and swap only on success, so a failed build leaves the last good one.
  const staging = path.join(root, 'dist', `.staging-${action}`);
  rmSync(staging, { recursive: true, force: true });
  const started = Date.now();
  execFileSync(process.execPath, [ncc, 'build', `src/${action}/index.ts`, '-o', staging, '--minify', '--license', 'licenses.txt', '--quiet', '--target', 'es2022'], {
    cwd: root,
    stdio: 'inherit',
  });
  for (const chunk of readdirSync(staging).filter((name) => /^\d+\.index\.js$/.test(name))) {
    const file = path.join(staging, chunk);
    const result = await minify(readFileSync(file, 'utf8'), { module: true, ecma: 2022, compress: true, mangle: true });
    writeFileSync(file, result.code);
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  console.log(`bundled ${action} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
