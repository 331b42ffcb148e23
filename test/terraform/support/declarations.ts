/**
 * Checks of how a module declares and uses its interface: variables, module calls and outputs.
 * Each returns a list of problems (empty when the module is fine).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  REPO_ROOT,
  blockBodies,
  localsOf,
  moduleCallsOf,
  outputsOf,
  referencesIn,
  stringsIn,
  unwrapExpression,
  variablesOf,
  type HclValue,
  type TerraformModule,
} from './hcl.js';

/** Each var.x used is declared, and each declared variable is used somewhere outside its own block. */
export function checkVariableUsage(module: TerraformModule): string[] {
  const declared = new Set(variablesOf(module).map((variable) => variable.labels[0] as string));
  const used = new Set<string>();
  for (const file of module.files) {
    for (const [kind, content] of Object.entries(file.config)) {
      // A variable's validation refers to the variable itself; that is not a use.
      if (kind !== 'variable') for (const name of referencesIn(content, 'var')) used.add(name);
    }
  }
  return [
    ...[...used].filter((name) => !declared.has(name)).map((name) => `${module.name}: var.${name} is used but not declared`),
    ...[...declared].filter((name) => !used.has(name)).map((name) => `${module.name}: variable "${name}" is declared but never used`),
  ];
}

/**
 * Every variable has a description and a type. Validations refer only to their own variable
 * (Terraform before 1.9 rejects anything else, and the stacks support 1.6). Root-module variables
 * other than booleans also need at least one validation, so bad input fails at plan, not mid-apply.
 */
export function checkVariableDeclarations(module: TerraformModule, options: { root: boolean }): string[] {
  const problems: string[] = [];
  for (const variable of variablesOf(module)) {
    const name = variable.labels[0] as string;
    const where = `${module.name}: variable "${name}"`;
    const description = variable.body.description;
    if (typeof description !== 'string' || description.trim() === '') problems.push(`${where} has no description`);
    const type = unwrapExpression(variable.body.type);
    if (!type) problems.push(`${where} has no type`);
    const validations = blockBodies(variable.body, 'validation');
    if (options.root && type !== 'bool' && validations.length === 0) problems.push(`${where} has no validation`);
    for (const validation of validations) {
      if (typeof validation.error_message !== 'string' || validation.error_message.trim() === '') {
        problems.push(`${where} has a validation without error_message`);
      }
      const others = [...referencesIn(validation.condition, 'var')].filter((other) => other !== name);
      if (typeof validation.condition !== 'string') problems.push(`${where} has a validation without condition`);
      else if (others.length > 0) problems.push(`${where}: validation refers to other variables (${others.join(', ')}), which needs Terraform 1.9`);
    }
  }
  return problems;
}

const MODULE_META_ARGUMENTS = new Set(['source', 'version', 'count', 'for_each', 'depends_on', 'providers']);

export function isLocalSource(source: string): boolean {
  return source.startsWith('./') || source.startsWith('../');
}

/**
 * Each module call's source is a local directory holding a module, its arguments are variables of
 * that module, and every variable without a default is passed.
 */
export async function checkModuleCalls(
  module: TerraformModule,
  load: (dir: string) => Promise<TerraformModule>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const call of moduleCallsOf(module)) {
    const where = `${module.name}: module "${call.labels[0]}"`;
    const source = call.body.source;
    if (typeof source !== 'string' || !isLocalSource(source)) {
      problems.push(`${where}: source must be a local path (no registry is reachable to verify others)`);
      continue;
    }
    const dir = path.resolve(module.dir, source);
    if (!existsSync(dir) || !readdirSync(dir).some((file) => file.endsWith('.tf'))) {
      problems.push(`${where}: source ${source} (${path.relative(REPO_ROOT, dir)}) holds no module`);
      continue;
    }
    const callee = await load(dir);
    const variables = new Map(variablesOf(callee).map((variable) => [variable.labels[0] as string, variable.body]));
    for (const argument of Object.keys(call.body).filter((key) => !MODULE_META_ARGUMENTS.has(key))) {
      if (!variables.has(argument)) problems.push(`${where}: ${callee.name} has no variable "${argument}"`);
    }
    for (const [name, body] of variables) {
      if (!('default' in body) && !(name in call.body)) problems.push(`${where}: required variable "${name}" of ${callee.name} is not passed`);
    }
  }
  return problems;
}

/** Expressions whose values are secret: an output built from one must be marked sensitive. */
const SENSITIVE_SOURCES = [
  /\brandom_password\./,
  /\.kube_(admin_)?config(_raw)?\b/,
  /_access_key\b/,
  /connection_string\b/,
  /\.client_secret\b/,
];

/**
 * Every output has a description, and outputs derived from secrets (directly, through locals, from a
 * sensitive variable or from a sensitive output of a called module) are marked sensitive, as
 * Terraform itself would demand at plan time.
 */
export async function checkOutputDeclarations(
  module: TerraformModule,
  load: (dir: string) => Promise<TerraformModule>,
): Promise<string[]> {
  const problems: string[] = [];
  const locals = localsOf(module);
  const sensitiveVariables = new Set(
    variablesOf(module).filter((variable) => variable.body.sensitive === true).map((variable) => variable.labels[0] as string),
  );
  const sensitiveModuleOutputs = new Set<string>();
  for (const call of moduleCallsOf(module)) {
    const source = call.body.source;
    if (typeof source !== 'string' || !isLocalSource(source)) continue;
    const callee = await load(path.resolve(module.dir, source));
    for (const output of outputsOf(callee)) {
      if (output.body.sensitive === true) sensitiveModuleOutputs.add(`module.${call.labels[0]}.${output.labels[0]}`);
    }
  }

  // The expression text of a value with the locals it uses expanded, transitively.
  const expand = (value: HclValue | undefined, seen = new Set<string>()): string[] => {
    const texts = stringsIn(value);
    for (const name of referencesIn(value, 'local')) {
      if (seen.has(name)) continue;
      seen.add(name);
      texts.push(...expand(locals[name], seen));
    }
    return texts;
  };

  for (const output of outputsOf(module)) {
    const where = `${module.name}: output "${output.labels[0]}"`;
    const description = output.body.description;
    if (typeof description !== 'string' || description.trim() === '') problems.push(`${where} has no description`);
    const texts = expand(output.body.value).join('\n');
    const secret =
      SENSITIVE_SOURCES.some((pattern) => pattern.test(texts)) ||
      [...referencesIn(texts, 'var')].some((name) => sensitiveVariables.has(name)) ||
      [...sensitiveModuleOutputs].some((reference) => new RegExp(`${reference.replaceAll('.', '\\.')}\\b`).test(texts));
    if (secret && output.body.sensitive !== true) problems.push(`${where} is derived from a secret but not marked sensitive`);
  }
  return problems;
}

/** The outputs in `expected` that the module does not declare. */
export function missingOutputs(module: TerraformModule, expected: readonly string[]): string[] {
  const declared = new Set(outputsOf(module).map((output) => output.labels[0]));
  return expected.filter((name) => !declared.has(name)).map((name) => `${module.name}: output "${name}" is missing`);
}
