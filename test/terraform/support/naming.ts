/**
 * Azure's naming rules for the names that terraform/modules/conventions derives, and the pieces
 * needed to evaluate those name patterns for the longest and shortest inputs a stack accepts.
 */
import { blockBodies, isObject, localsOf, moduleCallsOf, unwrapExpression, variablesOf, type HclValue, type TerraformModule } from './hcl.js';
import { evaluate } from './evaluate.js';

export interface NameRule {
  pattern: RegExp;
  rule: string;
}

/**
 * One rule per key of the conventions module's `names` map (a name without a rule fails the tests).
 * Sources: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules and
 * the AKS / PostgreSQL documentation for the DNS prefix and private DNS zone.
 */
export const AZURE_NAME_RULES: Record<string, NameRule> = {
  resource_group: { pattern: /^[-\w.()]{1,89}[-\w()]$/, rule: '1-90 word characters, -, ., ( or ), not ending in .' },
  kubernetes_node_resource_group: { pattern: /^[-\w.()]{1,79}[-\w()]$/, rule: 'at most 80 characters (AKS node resource group)' },
  kubernetes_cluster: { pattern: /^[a-zA-Z0-9][-\w]{0,61}[a-zA-Z0-9]$/, rule: '1-63 alphanumerics, - or _, alphanumeric at both ends' },
  kubernetes_dns_prefix: { pattern: /^[a-zA-Z][a-zA-Z0-9-]{0,52}[a-zA-Z0-9]$/, rule: '1-54 alphanumerics or -, starting with a letter' },
  log_analytics_workspace: { pattern: /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/, rule: '4-63 alphanumerics or -' },
  storage_account: { pattern: /^[a-z0-9]{3,24}$/, rule: '3-24 lowercase letters or digits' },
  container_registry: { pattern: /^[a-zA-Z0-9]{5,50}$/, rule: '5-50 alphanumerics' },
  // The stacks append a suffix of up to 8 characters ("-worker", "-tasks") to this one.
  user_assigned_identity: { pattern: /^[a-zA-Z0-9][-\w]{2,119}$/, rule: 'at most 120 characters before the stack\'s suffix (128 in all)' },
  virtual_network: { pattern: /^[a-zA-Z0-9][-\w.]{0,62}\w$/, rule: '2-64 word characters, - or ., ending in a word character' },
  postgresql_server: { pattern: /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, rule: '3-63 lowercase letters, digits or -' },
  postgresql_private_dns_zone: {
    pattern: /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+postgres\.database\.azure\.com$/,
    rule: 'DNS name of labels up to 63 characters ending in .postgres.database.azure.com',
  },
};

export interface InputRange {
  /** A character the variable accepts, used to build the samples. */
  character: string;
  min: number;
  max: number;
}

/**
 * Reads the accepted length and characters of a variable from its `regex("^[class]{min,max}$", var.x)`
 * validation, so that the naming test follows the validation if someone changes it.
 */
export function inputRangeFromValidation(module: TerraformModule, name: string): InputRange {
  const variable = variablesOf(module).find((candidate) => candidate.labels[0] === name);
  if (!variable) throw new Error(`${module.name} declares no variable "${name}"`);
  for (const validation of blockBodies(variable.body, 'validation')) {
    const condition = unwrapExpression(validation.condition) ?? '';
    const match = /regex\("\^\[([^\]]+)\]\{(\d+),(\d+)\}\$", var\.\w+\)/.exec(condition);
    if (match) {
      const accepted = new RegExp(`^[${match[1]}]$`);
      const character = ['a', 'z', '0', '9'].find((candidate) => accepted.test(candidate));
      if (!character) throw new Error(`${module.name}: variable "${name}" accepts none of a, z, 0, 9`);
      return { character, min: Number(match[2]), max: Number(match[3]) };
    }
  }
  throw new Error(`${module.name}: variable "${name}" has no regex("^[...]{min,max}$") validation`);
}

/** The literal arguments (workload, workload_code) a stack passes to the conventions module. */
export function conventionsArguments(stack: TerraformModule): Record<string, HclValue> {
  const call = moduleCallsOf(stack).find((candidate) => String(candidate.body.source).endsWith('/modules/conventions'));
  if (!call) throw new Error(`${stack.name} does not call the conventions module`);
  return call.body;
}

/** Evaluates the conventions module's `names` for one set of inputs. */
export function evaluateNames(conventions: TerraformModule, inputs: Record<string, string>): Record<string, string> {
  const names = evaluate('${local.names}', { var: inputs, local: localsOf(conventions) });
  if (!isObject(names)) throw new Error('local.names is not an object');
  return Object.fromEntries(Object.entries(names).map(([key, value]) => [key, String(value)]));
}
