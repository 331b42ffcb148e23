import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { analysePlan, parsePlanJson, renderPlanMarkdown, DEFAULT_MAX_LENGTH, MIN_MAX_LENGTH } from '../lib/plan-summary.js';
import { UsageError, type CliIo } from './usage.js';

export const PLAN_SUMMARY_USAGE = `Usage: azure-bakery-actions plan-summary <plan.json | -> [options]

Prints the pull-request comment the plan action would write for a \`terraform show -json\` plan
(read from stdin with -). With --json, prints the counts instead.

  terraform plan -out=plan.tfplan
  terraform show -json plan.tfplan > plan.json
  terraform show -no-color plan.tfplan > plan.txt
  npx azure-bakery-actions plan-summary plan.json --environment dev --text-plan plan.txt

Options:
  --environment <name>         environment named in the heading
  --working-directory <dir>    directory named in the heading (default: the plan file's directory)
  --label <text>               label named in the heading
  --text-plan <file>           Terraform's human-readable plan, shown in a collapsible diff block
  --max-length <n>             limit for the whole comment (default ${DEFAULT_MAX_LENGTH})
  --full-plan-location <text>  where the full plan is, named when something had to be shortened
  --json                       print {"add", "change", "destroy", "replace", "import", "move", "forget", …} as JSON
  -h, --help                   show this help`;

async function readInput(file: string, what: string, io: CliIo): Promise<string> {
  if (file === '-') return io.readStdin();
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new UsageError(`cannot read the ${what} ${JSON.stringify(file)}: ${problem}.`);
  }
}

export async function planSummaryCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      environment: { type: 'string' },
      'working-directory': { type: 'string' },
      label: { type: 'string' },
      'text-plan': { type: 'string' },
      'max-length': { type: 'string' },
      'full-plan-location': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout(`${PLAN_SUMMARY_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'give the plan JSON file (`terraform show -json plan.tfplan > plan.json`), or - to read it from stdin.'
        : `give one plan JSON file, not ${positionals.length} (${positionals.join(' ')}).`,
    );
  }
  let maxLength = DEFAULT_MAX_LENGTH;
  if (values['max-length'] !== undefined) {
    maxLength = Number(values['max-length']);
    if (!/^\d+$/.test(values['max-length']) || maxLength < MIN_MAX_LENGTH) {
      throw new UsageError(`--max-length is ${JSON.stringify(values['max-length'])}; give a whole number of at least ${MIN_MAX_LENGTH}.`);
    }
  }
  const file = positionals[0]!;
  const planText = await readInput(file, 'plan JSON file', io);
  const textPlan = values['text-plan'] === undefined ? undefined : await readInput(values['text-plan'], '--text-plan file', io);
  const plan = parsePlanJson(planText, file === '-' ? 'The plan JSON from stdin' : file);
  const report = analysePlan(plan);

  if (values.json) {
    const summary = { ...report.counts, hasChanges: report.hasChanges, hasDestructive: report.hasDestructive, errored: report.errored };
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  const defaultDirectory = file === '-' ? '' : path.relative(process.cwd(), path.dirname(path.resolve(file))) || '.';
  io.stdout(
    renderPlanMarkdown(report, {
      environment: values.environment ?? '',
      workingDirectory: values['working-directory'] ?? defaultDirectory,
      label: values.label,
      textPlan,
      maxLength,
      fullPlanLocation: values['full-plan-location'],
    }),
  );
  return 0;
}
