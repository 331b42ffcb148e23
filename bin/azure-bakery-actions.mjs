#!/usr/bin/env node
// `npx azure-bakery-actions <command>`: the bundled CLI (src/cli → dist/cli, built by `npm run bundle cli`).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(bundle)) {
  console.error('azure-bakery-actions: dist/cli/index.js is missing; build it with `npm run bundle cli`.');
  process.exit(2);
}
const { main } = await import(bundle.href);
process.exitCode = await main(process.argv.slice(2));
