import { GuidedError, errorMessage } from '../lib/errors.js';
import { PLAN_SUMMARY_USAGE, planSummaryCommand } from './plan-summary.js';
import { UsageError, processIo, type CliIo } from './usage.js';

/**
 * `azure-bakery-actions <command> …`: the suite's local tools. Exit codes: 0 done, 1 a bug (stack
 * printed), 2 a usage mistake or an input file that cannot be used (message only).
 */

const COMMANDS: Record<string, { summary: string; run: (args: string[], io: CliIo) => Promise<number> }> = {
  'plan-summary': { summary: 'print the pull-request comment for a `terraform show -json` plan', run: planSummaryCommand },
};

const USAGE = `Usage: azure-bakery-actions <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(14)} ${command.summary}`)
  .join('\n')}

Run \`azure-bakery-actions <command> --help\` for a command's options.

${PLAN_SUMMARY_USAGE}`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`azure-bakery-actions: unknown command ${JSON.stringify(name)}; commands are: ${Object.keys(COMMANDS).join(', ')}.\n`);
    return 2;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    const usageMistake =
      error instanceof UsageError || error instanceof GuidedError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_');
    if (usageMistake) {
      io.stderr(`azure-bakery-actions ${name}: ${errorMessage(error)}\n`);
      if (!(error instanceof GuidedError)) io.stderr(`Run \`azure-bakery-actions ${name} --help\` for usage.\n`);
      return 2;
    }
    io.stderr(`azure-bakery-actions ${name} failed unexpectedly (a bug; please report it):\n${(error as Error).stack ?? errorMessage(error)}\n`);
    return 1;
  }
}
