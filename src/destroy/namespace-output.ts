import { DEFAULT_NAMESPACE, NAMESPACE_PATTERN } from '../lib/common-inputs.js';
import { GuidedError } from '../lib/errors.js';
import { NAMESPACE_OUTPUTS } from '../lib/stack-outputs.js';
import type { TerraformOutput } from '../lib/terraform.js';

/**
 * Which namespace destroy removes when "namespace" is not given. deploy.yml gives setup-agent the
 * stack's worker_namespace output, so the namespace to remove is that same output, read from the
 * state destroy is about to tear down — not a default that is right only for an unchanged stack.
 */

export interface NamespaceChoice {
  name: string;
  /** Where the name came from, for the log. */
  source: string;
  /** When a state named it: which output of which root module (the summary shows them as code). */
  from?: { output: string; module: string };
  /** Set when no state names it and setup-agent's default is used instead: what to tell the user. */
  warning?: string;
}

export interface ModuleOutputs {
  displayPath: string;
  outputs: Record<string, TerraformOutput>;
}

/** The stacks' namespace outputs (worker_namespace, metaflow_namespace). */
export const NAMESPACE_OUTPUT_NAMES: readonly string[] = Object.values(NAMESPACE_OUTPUTS);

/** The first of `modules` (destroy order) whose state has a namespace output; setup-agent's default when none has. */
export function chooseNamespace(modules: readonly ModuleOutputs[]): NamespaceChoice {
  for (const module of modules) {
    for (const output of NAMESPACE_OUTPUT_NAMES) {
      if (!(output in module.outputs)) continue;
      const value = module.outputs[output]!.value;
      if (typeof value !== 'string' || !NAMESPACE_PATTERN.test(value)) {
        throw new GuidedError(
          `The ${output} output of ${module.displayPath} is ${JSON.stringify(value)?.slice(0, 80)}, which is not a Kubernetes namespace name, so the agent's namespace is unknown; nothing was destroyed`,
          'Pass "namespace" with the namespace the agent runs in (setup-agent\'s "namespace" output), or fix the output in the stack.',
        );
      }
      return { name: value, source: `the ${output} output of ${module.displayPath}`, from: { output, module: module.displayPath } };
    }
  }
  const where = modules.map((module) => module.displayPath).join(', ');
  return {
    name: DEFAULT_NAMESPACE,
    source: 'setup-agent\'s default, as no state names it',
    warning:
      `No ${NAMESPACE_OUTPUT_NAMES.join(' or ')} output in the state of ${where} (a root module without it, or a state that is already empty): ` +
      `removing setup-agent's default namespace "${DEFAULT_NAMESPACE}". Pass "namespace" if the agent runs in another one.`,
  };
}
