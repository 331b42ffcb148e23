import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from './main.js';

/**
 * The CLI bundle (dist/cli/index.js). Run directly (`node dist/cli/index.js …`) it runs the CLI;
 * imported (bin/azure-bakery-actions.mjs, bench/render-plan.mjs) it runs nothing and offers `main`
 * and the plan-summary functions.
 */
export { main };
export { analysePlan, countPlan, formatPlanLine, parsePlanJson, renderPlanFailureMarkdown, renderPlanMarkdown } from '../lib/plan-summary.js';

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  void main(process.argv.slice(2)).then((exitCode) => {
    process.exitCode = exitCode;
  });
}
