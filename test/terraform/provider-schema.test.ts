import { statSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockSyntaxPaths, dataSourcesOf, loadAllModules, moduleFromSources, moduleNamed, providersOf, resourcesOf, type TerraformModule } from './support/hcl.js';
import { PROVIDER_SCHEMA_FILE, checkModuleAgainstSchemas, loadProviderSchemas, type ProviderSchemas } from './support/provider-schema.js';

let modules: TerraformModule[];
let schemas: ProviderSchemas;

beforeAll(async () => {
  modules = await loadAllModules();
  schemas = loadProviderSchemas();
});

describe('provider schemas', () => {
  it('stay a compact fixture with only the types the code uses', () => {
    expect(statSync(PROVIDER_SCHEMA_FILE).size).toBeLessThan(500_000);
    const used = {
      resource: new Set(modules.flatMap((module) => resourcesOf(module).map((block) => block.labels[0]))),
      data: new Set(modules.flatMap((module) => dataSourcesOf(module).map((block) => block.labels[0]))),
      provider: new Set(modules.flatMap((module) => providersOf(module).map((block) => block.labels[0]))),
    };
    expect(Object.keys(schemas.resource).sort()).toEqual([...used.resource].sort());
    expect(Object.keys(schemas.data).sort()).toEqual([...used.data].sort());
    for (const provider of used.provider) expect(schemas.provider).toHaveProperty([provider as string]);
  });

  it('come from azurerm 4.x', () => {
    expect(schemas.providers.azurerm?.version).toMatch(/^4\./);
  });
});

describe('every resource, data source and provider block matches its provider schema', () => {
  it.each(['stacks/bakery', 'stacks/metaflow/infra', 'stacks/metaflow/services'])('terraform/%s is checked (it has resources)', (name) => {
    const module = moduleNamed(modules, name);
    expect(resourcesOf(module).length + dataSourcesOf(module).length).toBeGreaterThan(0);
  });

  it('holds for every module under terraform/', () => {
    const problems = modules.flatMap((module) => checkModuleAgainstSchemas(module, schemas));
    expect(problems).toEqual([]);
  });
});

describe('the schema check catches', () => {
  const check = async (source: string) => checkModuleAgainstSchemas(await moduleFromSources('broken', { 'main.tf': source }), schemas);

  it('an unknown top-level argument (the azurerm 3.x name of a renamed one)', async () => {
    expect(await check(`
      resource "azurerm_storage_account" "flows" {
        name                      = "stflows"
        resource_group_name       = "rg"
        location                  = "westeurope"
        account_tier              = "Standard"
        account_replication_type  = "LRS"
        enable_https_traffic_only = true
      }`)).toEqual(['terraform/broken/main.tf: azurerm_storage_account.flows: enable_https_traffic_only is not an argument or block of this type']);
  });

  it('an unknown argument three blocks deep', async () => {
    const problems = await check(`
      resource "kubernetes_deployment_v1" "app" {
        metadata { name = "app" }
        spec {
          template {
            metadata { labels = { app = "x" } }
            spec {
              container {
                name  = "app"
                image = "nginx:1.27"
                liveness_probe {
                  http_get {
                    path = "/"
                    verb = "GET"
                  }
                }
              }
            }
          }
        }
      }`);
    expect(problems).toEqual([
      'terraform/broken/main.tf: kubernetes_deployment_v1.app.spec.template.spec.container.liveness_probe.http_get: verb is not an argument or block of this type',
    ]);
  });

  it('missing required arguments and blocks', async () => {
    const problems = await check(`
      resource "azurerm_kubernetes_cluster" "aks" {
        name     = "aks"
        location = "westeurope"
      }`);
    expect(problems).toContain('terraform/broken/main.tf: azurerm_kubernetes_cluster.aks: resource_group_name: required argument missing');
    expect(problems).toContain('terraform/broken/main.tf: azurerm_kubernetes_cluster.aks: default_node_pool: required block missing');
  });

  it('a block written as an argument, and a single block repeated', async () => {
    const problems = await check(`
      resource "kubernetes_namespace_v1" "ns" {
        metadata = { name = "x" }
      }
      resource "azurerm_resource_group" "rg" {
        name     = "rg"
        location = "westeurope"
        timeouts { create = "5m" }
        timeouts { create = "6m" }
      }`);
    expect(problems).toEqual([
      'terraform/broken/main.tf: azurerm_resource_group.rg: timeouts may appear only once',
      'terraform/broken/main.tf: kubernetes_namespace_v1.ns: metadata is a block: write metadata { ... }, not metadata = ...',
    ]);
  });

  it('an argument written as a block (helm 3 made `set` and the provider\'s `kubernetes` arguments)', async () => {
    const problems = await check(`
      provider "helm" {
        kubernetes {
          host = "https://example"
        }
      }
      resource "helm_release" "argo" {
        name  = "argo"
        chart = "argo-workflows"
        set {
          name  = "server.enabled"
          value = "true"
        }
        set_list = [{ name = "a", value = ["b"], typo = 1 }]
      }`);
    expect(problems).toEqual([
      'terraform/broken/main.tf: helm_release.argo: set is an argument: write set = ..., not set { ... }',
      'terraform/broken/main.tf: helm_release.argo.set_list: typo is not an argument or block of this type',
      'terraform/broken/main.tf: helm: kubernetes is an argument: write kubernetes = ..., not kubernetes { ... }',
    ]);
  });

  it('an unknown block in a dynamic block and a type without a schema', async () => {
    const problems = await check(`
      resource "azurerm_subnet" "s" {
        name                 = "s"
        resource_group_name  = "rg"
        virtual_network_name = "vnet"
        dynamic "delegations" {
          for_each = []
          content { name = "x" }
        }
      }
      data "azurerm_not_a_thing" "x" {}`);
    expect(problems).toEqual([
      'terraform/broken/main.tf: azurerm_subnet.s: dynamic "delegations": no block "delegations" in the schema',
      'terraform/broken/main.tf: azurerm_not_a_thing.x: no data schema for "azurerm_not_a_thing" (run scripts/extract-provider-schemas.mjs)',
    ]);
  });
});

describe('the block syntax scanner', () => {
  it('tells blocks from arguments through strings, templates, heredocs and comments', () => {
    const paths = blockSyntaxPaths(`
      # resource "not" "real" {
      resource "helm_release" "r" {
        values = [<<-EOT
          set {
            name: "{ not a block"
          }
        EOT
        ]
        set_list = [{ name = "\${join("}", ["a"])}", value = ["{"] }]
        /* set { */
        dynamic "set" {
          for_each = {}
          content { name = "x" }
        }
        timeouts { create = "5m" }
      }
      provider "kubernetes" {
        exec {
          command = "kubelogin" // { trailing
        }
      }`);
    expect([...paths].sort()).toEqual([
      'provider/kubernetes',
      'provider/kubernetes/exec',
      'resource/helm_release/r',
      'resource/helm_release/r/dynamic/set',
      'resource/helm_release/r/dynamic/set/content',
      'resource/helm_release/r/timeouts',
    ]);
  });

  it('refuses what it cannot follow instead of guessing', () => {
    expect(() => blockSyntaxPaths('resource "a" "b" {\n  name = "x"\n')).toThrow(/unclosed block/);
    expect(() => blockSyntaxPaths('locals {\n  text = <<EOT\nno end\n}\n')).toThrow(/unterminated heredoc EOT/);
  });
});
