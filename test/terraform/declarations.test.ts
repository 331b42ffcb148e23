/**
 * How the modules declare and wire their interfaces: variables, module calls and outputs (including
 * the ones the actions read), the Azure names derived from the inputs, and the absence of literal
 * secrets.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_OUTPUTS } from '../../src/lib/stack-outputs.js';
import {
  REPO_ROOT,
  blockBodies,
  isRootModule,
  loadAllModules,
  loadModule,
  moduleFromSources,
  moduleNamed,
  parseTerraformFile,
  referencesIn,
  stringsIn,
  unwrapExpression,
  variablesOf,
  type TerraformModule,
} from './support/hcl.js';
import {
  checkModuleCalls,
  checkOutputDeclarations,
  checkVariableDeclarations,
  checkVariableUsage,
  missingOutputs,
} from './support/declarations.js';
import { AZURE_NAME_RULES, conventionsArguments, evaluateNames, inputRangeFromValidation } from './support/naming.js';
import { findLiteralSecrets, findLiteralSecretsInFile } from './support/secrets.js';

let modules: TerraformModule[];
let conventions: TerraformModule;
const rootModules = () => modules.filter(isRootModule);
const stack = (name: string) => moduleNamed(modules, `stacks/${name}`);

beforeAll(async () => {
  modules = await loadAllModules();
  conventions = moduleNamed(modules, 'modules/conventions');
});

/** The longest and the shortest identifier/environment each stack's validations accept. */
function extremeInputs(root: TerraformModule) {
  const { workload, workload_code } = conventionsArguments(root);
  if (typeof workload !== 'string' || typeof workload_code !== 'string') throw new Error(`${root.name}: workload must be literal`);
  const identifier = inputRangeFromValidation(root, 'identifier');
  const environment = inputRangeFromValidation(root, 'environment');
  const inputs = (pick: 'min' | 'max') => ({
    workload,
    workload_code,
    identifier: identifier.character.repeat(identifier[pick]),
    environment: environment.character.repeat(environment[pick]),
  });
  return { longest: inputs('max'), shortest: inputs('min') };
}

function nameProblems(names: Record<string, string>): string[] {
  return Object.entries(names).flatMap(([key, name]) => {
    const rule = AZURE_NAME_RULES[key];
    if (!rule) return [`${key}: no Azure naming rule known for this name`];
    return rule.pattern.test(name) ? [] : [`${key}: "${name}" (${name.length} characters) breaks the rule: ${rule.rule}`];
  });
}

describe('variables', () => {
  it('are declared where used and used where declared, in every module', () => {
    expect(modules.flatMap(checkVariableUsage)).toEqual([]);
  });

  it('have descriptions and types everywhere, and validations in the stacks', () => {
    expect(modules.flatMap((module) => checkVariableDeclarations(module, { root: isRootModule(module) }))).toEqual([]);
  });

  it('include an identifier of 1-10 lowercase letters or digits wherever Azure names are derived', () => {
    for (const module of [stack('bakery'), stack('metaflow/infra')]) {
      const identifier = variablesOf(module).find((variable) => variable.labels[0] === 'identifier');
      const pattern = blockBodies(identifier?.body ?? {}, 'validation')
        .map((validation) => /regex\("([^"]+)", var\.identifier\)/.exec(unwrapExpression(validation.condition) ?? '')?.[1])
        .find((found) => found !== undefined);
      expect(pattern, module.name).toBeDefined();
      const accepts = new RegExp(pattern as string);
      for (const good of ['a', '7', 'contoso01', 'abcdefghij']) expect(accepts.test(good), `${module.name} accepts ${good}`).toBe(true);
      for (const bad of ['', 'abcdefghijk', 'Contoso', 'con-toso', 'con_toso', 'contosö']) {
        expect(accepts.test(bad), `${module.name} rejects ${JSON.stringify(bad)}`).toBe(false);
      }
    }
  });

  it('validate node pools: non-empty VM size, counts >= 0 and min <= max', () => {
    const pools = rootModules().flatMap((module) =>
      variablesOf(module).filter((variable) => /min_count/.test(String(variable.body.type))).map((variable) => ({ module, variable })),
    );
    expect(pools.map(({ variable }) => variable.labels[0]).sort()).toEqual(['default_pool', 'system_pool', 'taskworkers_pool', 'worker_pool']);
    for (const { module, variable } of pools) {
      const name = variable.labels[0] as string;
      const conditions = blockBodies(variable.body, 'validation').map((validation) => unwrapExpression(validation.condition) ?? '').join('\n');
      const where = `${module.name}: ${name}`;
      expect(conditions, where).toContain(`length(trimspace(var.${name}.vm_size)) > 0`);
      expect(conditions, where).toMatch(new RegExp(`var\\.${name}\\.min_count >= [01]`));
      expect(conditions, where).toContain(`var.${name}.min_count <= var.${name}.max_count`);
    }
  });

  it('check catches an undeclared, an unused and an undocumented variable, and a cross-variable validation', async () => {
    const module = await moduleFromSources('broken', {
      'main.tf': `
        variable "min_nodes" {
          type = number
          validation {
            condition     = var.min_nodes <= var.max_nodes
            error_message = "min_nodes must not exceed max_nodes."
          }
        }
        variable "max_nodes" {
          description = "Largest node count."
          type        = number
        }
        variable "unused" {
          description = "Nobody reads this."
          type        = string
        }
        locals {
          nodes = [var.min_nodes, var.max_nodes, var.missing]
        }`,
    });
    expect(checkVariableUsage(module)).toEqual([
      'terraform/broken: var.missing is used but not declared',
      'terraform/broken: variable "unused" is declared but never used',
    ]);
    expect(checkVariableDeclarations(module, { root: true })).toEqual([
      'terraform/broken: variable "max_nodes" has no validation',
      'terraform/broken: variable "min_nodes" has no description',
      'terraform/broken: variable "min_nodes": validation refers to other variables (max_nodes), which needs Terraform 1.9',
      'terraform/broken: variable "unused" has no validation',
    ]);
  });
});

describe('module calls', () => {
  it('use local modules that exist, with arguments they declare and every required one', async () => {
    const problems = await Promise.all(modules.map((module) => checkModuleCalls(module, loadModule)));
    expect(problems.flat()).toEqual([]);
  });

  it('check catches a missing source, an unknown argument, a missing required argument and a registry module', async () => {
    const module = await moduleFromSources('stacks/broken', {
      'main.tf': `
        module "gone" {
          source = "../../modules/does-not-exist"
        }
        module "storage" {
          source          = "../../modules/blob-storage"
          name            = "stbroken"
          location        = "westeurope"
          tags            = {}
          container_names = ["a"]
          replication     = "LRS"
        }
        module "registry" {
          source  = "Azure/aks/azurerm"
          version = "9.0.0"
        }`,
    });
    expect(await checkModuleCalls(module, loadModule)).toEqual([
      'terraform/stacks/broken: module "gone": source ../../modules/does-not-exist (terraform/modules/does-not-exist) holds no module',
      'terraform/stacks/broken: module "registry": source must be a local path (no registry is reachable to verify others)',
      'terraform/stacks/broken: module "storage": terraform/modules/blob-storage has no variable "replication"',
      'terraform/stacks/broken: module "storage": required variable "resource_group_name" of terraform/modules/blob-storage is not passed',
    ]);
  });
});

describe('outputs', () => {
  it('are described everywhere and marked sensitive when derived from secrets', async () => {
    const problems = await Promise.all(modules.map((module) => checkOutputDeclarations(module, loadModule)));
    expect(problems.flat()).toEqual([]);
  });

  it('exist for every stack named in STACK_OUTPUTS (src/lib/stack-outputs.ts)', () => {
    const roots = rootModules().map((module) => module.name);
    for (const name of Object.keys(STACK_OUTPUTS)) expect(roots).toContain(path.join('terraform/stacks', name));
  });

  it.each(Object.entries(STACK_OUTPUTS))('include every output the actions read from %s', (name, expected) => {
    expect(missingOutputs(stack(name), expected)).toEqual([]);
  });

  it('check catches a missing contract output, an undescribed output and unmarked secrets', async () => {
    const module = await moduleFromSources('stacks/broken', {
      'main.tf': `
        module "cluster" {
          source = "../../modules/aks-cluster"
        }
        resource "random_password" "db" {
          length = 32
        }
        locals {
          connection = "postgres://metaflow:\${random_password.db.result}@db"
        }
        output "cluster_name" {
          value = "aks"
        }
        output "database_url" {
          description = "Connection URL."
          value       = local.connection
        }
        output "api_server" {
          description = "API server."
          value       = module.cluster.host
        }`,
    });
    expect(missingOutputs(module, ['cluster_name', 'registry_name'])).toEqual(['terraform/stacks/broken: output "registry_name" is missing']);
    expect(await checkOutputDeclarations(module, loadModule)).toEqual([
      'terraform/stacks/broken: output "api_server" is derived from a secret but not marked sensitive',
      'terraform/stacks/broken: output "cluster_name" has no description',
      'terraform/stacks/broken: output "database_url" is derived from a secret but not marked sensitive',
    ]);
  });
});

describe('names derived from the identifier fit Azure\'s limits', () => {
  const stacksDerivingNames = ['stacks/bakery', 'stacks/metaflow/infra'];

  it.each(stacksDerivingNames)('terraform/%s, for the longest and the shortest accepted identifier and environment', (name) => {
    const { longest, shortest } = extremeInputs(moduleNamed(modules, name));
    expect(longest.identifier).toHaveLength(10);
    for (const inputs of [longest, shortest]) expect(nameProblems(evaluateNames(conventions, inputs))).toEqual([]);
  });

  it('with the lengths the issue names: storage 24, registry 50, AKS DNS prefix 54, PostgreSQL 63', () => {
    const names = evaluateNames(conventions, extremeInputs(stack('metaflow/infra')).longest);
    expect(names.storage_account?.length).toBeLessThanOrEqual(24);
    expect(names.container_registry?.length).toBeLessThanOrEqual(50);
    expect(names.kubernetes_dns_prefix?.length).toBeLessThanOrEqual(54);
    expect(names.postgresql_server?.length).toBeLessThanOrEqual(63);
    // The worst case is tight for storage accounts: 2 + 2 + 10 + 8 characters.
    expect(names.storage_account).toBe('stmfaaaaaaaaaaaaaaaaaa');
  });

  it('and every stack that derives names is covered above', () => {
    const callers = modules.filter((module) => {
      try {
        conventionsArguments(module);
        return true;
      } catch {
        return false;
      }
    });
    expect(callers.map((module) => module.name).sort()).toEqual(stacksDerivingNames.map((name) => `terraform/${name}`));
  });

  it('check catches a pattern that outgrows a limit, a name without a rule and an expression it cannot evaluate', async () => {
    const tooLong = await moduleFromSources('modules/conventions', {
      'main.tf': `
        locals {
          qualifier = "\${var.workload}-\${var.identifier}-\${var.environment}"
          names = {
            storage_account = "st\${var.workload}\${var.identifier}\${var.environment}"
            key_vault       = "kv-\${local.qualifier}"
          }
        }`,
    });
    const inputs = { workload: 'metaflow', workload_code: 'mf', identifier: 'a'.repeat(10), environment: 'a'.repeat(8) };
    expect(nameProblems(evaluateNames(tooLong, inputs))).toEqual([
      'key_vault: no Azure naming rule known for this name',
      'storage_account: "stmetaflowaaaaaaaaaaaaaaaaaa" (28 characters) breaks the rule: 3-24 lowercase letters or digits',
    ]);

    const unsupported = await moduleFromSources('modules/conventions', {
      'main.tf': 'locals {\n  names = { storage_account = substr(var.identifier, 0, 3) }\n}',
    });
    expect(() => evaluateNames(unsupported, inputs)).toThrow(/cannot evaluate "substr\(var.identifier, 0, 3\)"/);
  });

  it('check reads the accepted range from the validation, so loosening it is noticed', async () => {
    const loosened = await moduleFromSources('stacks/broken', {
      'variables.tf': `
        variable "identifier" {
          description = "Identifier."
          type        = string
          validation {
            condition     = can(regex("^[a-z0-9]{1,20}$", var.identifier))
            error_message = "1-20 lowercase letters or digits."
          }
        }`,
    });
    expect(inputRangeFromValidation(loosened, 'identifier')).toEqual({ character: 'a', min: 1, max: 20 });
    const names = evaluateNames(conventions, { workload: 'bakery', workload_code: 'bk', identifier: 'a'.repeat(20), environment: 'a'.repeat(8) });
    expect(nameProblems(names)).toContain('storage_account: "stbkaaaaaaaaaaaaaaaaaaaaaaaaaaaa" (32 characters) breaks the rule: 3-24 lowercase letters or digits');
  });
});

describe('no literal secrets', () => {
  it('in any module', () => {
    expect(modules.flatMap(findLiteralSecrets)).toEqual([]);
  });

  it('in the example variable files', async () => {
    const roots = modules.filter(isRootModule);
    const files = await Promise.all(roots.map(async (module) => {
      const file = path.join(module.dir, 'example.tfvars');
      return parseTerraformFile(path.relative(REPO_ROOT, file), readFileSync(file, 'utf8'));
    }));
    expect(files).toHaveLength(3);
    expect(files.flatMap(findLiteralSecretsInFile)).toEqual([]);
  });

  it('and no storage account key or connection string is used anywhere', () => {
    const keyUses = modules.flatMap((module) =>
      module.files.flatMap((file) =>
        stringsIn(file.config)
          .filter((text) => /primary_access_key|secondary_access_key|connection_string|shared_access_signature/.test(text))
          .map((text) => `${file.name}: ${text}`),
      ),
    );
    expect(keyUses).toEqual([]);
  });

  it('and the chart templates hold none either', () => {
    const chartDir = path.join(REPO_ROOT, 'terraform/stacks/metaflow/services/charts/argo-events-resources/templates');
    for (const file of readdirSync(chartDir)) {
      expect(readFileSync(path.join(chartDir, file), 'utf8')).not.toMatch(/password|secret|token|AccountKey/i);
    }
  });

  it('check catches the original Metaflow stack\'s hard-coded database password and other literals', async () => {
    const module = await moduleFromSources('broken', {
      'main.tf': `
        locals {
          metaflow_db_password = "metaflow"
        }
        variable "storage_access_key_enabled" {
          description = "A switch, not a secret."
          type        = bool
          default     = false
        }
        variable "client_secret" {
          description = "Service principal secret."
          type        = string
          default     = "s3cr3t"
        }
        resource "azurerm_postgresql_flexible_server" "db" {
          administrator_password = "metaflow"
        }
        resource "kubernetes_deployment_v1" "app" {
          spec {
            template {
              spec {
                container {
                  env {
                    name  = "MF_METADATA_DB_PSWD"
                    value = "metaflow"
                  }
                  env {
                    name  = "AZURE_STORAGE_CONNECTION_STRING"
                    value = "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc;EndpointSuffix=core.windows.net"
                  }
                }
              }
            }
          }
        }`,
    });
    expect(findLiteralSecrets(module)).toEqual([
      'terraform/broken/main.tf: locals[0].metaflow_db_password is a literal secret',
      'terraform/broken/main.tf: resource.azurerm_postgresql_flexible_server.db[0].administrator_password is a literal secret',
      'terraform/broken/main.tf: resource.kubernetes_deployment_v1.app[0].spec[0].template[0].spec[0].container[0].env[0] sets MF_METADATA_DB_PSWD to a literal',
      'terraform/broken/main.tf: resource.kubernetes_deployment_v1.app[0].spec[0].template[0].spec[0].container[0].env[1].value contains what looks like a storage connection string',
      'terraform/broken/main.tf: resource.kubernetes_deployment_v1.app[0].spec[0].template[0].spec[0].container[0].env[1] sets AZURE_STORAGE_CONNECTION_STRING to a literal',
      'terraform/broken: secret variable "client_secret" has a default',
      'terraform/broken: secret variable "client_secret" is not marked sensitive',
    ]);
  });

  it('check ignores secrets that are references, not literals', async () => {
    const module = await moduleFromSources('fine', {
      'main.tf': `
        resource "azurerm_postgresql_flexible_server" "db" {
          administrator_password = random_password.db.result
        }
        resource "kubernetes_secret_v1" "db" {
          data = { MF_METADATA_DB_PSWD = local.password }
        }`,
    });
    expect(findLiteralSecrets(module)).toEqual([]);
    expect(referencesIn(module.files[0]?.config, 'random_password')).toEqual(new Set(['db']));
  });
});
