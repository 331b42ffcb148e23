/**
 * Rules for the stacks as deployable units (Terraform and provider versions, backends, tags, example
 * variable files, generated READMEs) and what each platform must do: the Bakery's storage access
 * without connection strings, and the Metaflow stack's fixes of the hand-run original's defects.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from './support/evaluate.js';
import {
  REPO_ROOT,
  TERRAFORM_ROOT,
  blockBodies,
  isObject,
  isRootModule,
  loadAllModules,
  localsOf,
  moduleCallsOf,
  moduleFromSources,
  moduleNamed,
  outputsOf,
  parseTerraformFile,
  resourcesOf,
  stringsIn,
  unwrapExpression,
  variablesOf,
  type HclObject,
  type TerraformModule,
} from './support/hcl.js';
import { loadProviderSchemas, type ProviderSchemas } from './support/provider-schema.js';
import {
  checkKubernetesApiVersions,
  checkPinnedCharts,
  checkPostgresTransport,
  checkReusableModuleSettings,
  checkRootSettings,
  checkServiceSelectors,
  checkTags,
  satisfiesPessimistic,
} from './support/policies.js';

const run = promisify(execFile);
let modules: TerraformModule[];
let schemas: ProviderSchemas;
const scratch = mkdtempSync(path.join(tmpdir(), 'terraform-docs-'));
const stack = (name: string) => moduleNamed(modules, `stacks/${name}`);
const defaultOf = (module: TerraformModule, name: string) => variablesOf(module).find((variable) => variable.labels[0] === name)?.body.default;

beforeAll(async () => {
  modules = await loadAllModules();
  schemas = loadProviderSchemas();
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('Terraform and provider versions', () => {
  it('every stack requires Terraform >= 1.6, pins its providers with ~> and has an empty azurerm backend', () => {
    const roots = modules.filter(isRootModule);
    expect(roots.map((module) => module.name).sort()).toEqual([
      'terraform/stacks/bakery',
      'terraform/stacks/metaflow/infra',
      'terraform/stacks/metaflow/services',
    ]);
    expect(roots.flatMap((module) => checkRootSettings(module, schemas))).toEqual([]);
  });

  it('reusable modules configure no providers, pins or backends', () => {
    expect(modules.filter((module) => !isRootModule(module)).flatMap(checkReusableModuleSettings)).toEqual([]);
  });

  it('check catches a reusable module that configures a provider, pins a version or has a backend', async () => {
    const module = await moduleFromSources('modules/broken', {
      'main.tf': `
        terraform {
          required_providers {
            azurerm = {
              source  = "hashicorp/azurerm"
              version = "~> 4.55"
            }
          }
          backend "azurerm" {}
        }
        provider "azurerm" {
          features {}
        }`,
    });
    expect(checkReusableModuleSettings(module)).toEqual([
      'terraform/modules/broken: a reusable module must not configure providers',
      'terraform/modules/broken: a reusable module must not declare a backend',
      'terraform/modules/broken: azurerm version is pinned in the root modules, not here',
    ]);
  });

  it('~> constraints are read the way Terraform reads them', () => {
    expect(satisfiesPessimistic('~> 4.55', '4.55.0')).toBe(true);
    expect(satisfiesPessimistic('~> 4.55', '4.99.1')).toBe(true);
    expect(satisfiesPessimistic('~> 4.55', '5.0.0')).toBe(false);
    expect(satisfiesPessimistic('~> 4.55', '4.54.9')).toBe(false);
    expect(satisfiesPessimistic('~> 2.38.1', '2.39.0')).toBe(false);
    expect(satisfiesPessimistic('>= 4.0', '4.55.0')).toBe(false);
  });

  it('check catches an old Terraform, a loose or 3.x pin, a missing pin and a configured backend', async () => {
    const module = await moduleFromSources('stacks/broken', {
      'versions.tf': `
        terraform {
          required_version = ">= 1.3"
          required_providers {
            azurerm = {
              source  = "hashicorp/azurerm"
              version = "~> 3.116"
            }
            kubernetes = {
              source  = "hashicorp/kubernetes"
              version = ">= 2.0"
            }
          }
          backend "azurerm" {
            key = "state.tfstate"
          }
        }
        resource "kubernetes_namespace_v1" "x" {
          metadata { name = "x" }
        }
        resource "random_password" "x" {
          length = 16
        }
        resource "azurerm_resource_group" "x" {
          name     = "x"
          location = "westeurope"
        }`,
    });
    expect(checkRootSettings(module, schemas)).toEqual([
      'terraform/stacks/broken: required_version must be ">= 1.6"',
      'terraform/stacks/broken: the azurerm backend must be empty (configured at init from setup-remote-state\'s file)',
      'terraform/stacks/broken: provider azurerm constraint "~> 3.116" excludes 4.55.0 (the schema version the tests check against)',
      'terraform/stacks/broken: provider kubernetes must be pinned with ~>',
      'terraform/stacks/broken: provider random must be pinned with ~>',
      'terraform/stacks/broken: azurerm must be pinned to 4.x',
    ]);
  });
});

describe('tags', () => {
  it('every resource that takes tags gets the shared Owner/Stack/Environment + user tags', () => {
    expect(modules.flatMap((module) => checkTags(module, schemas, { root: isRootModule(module) }))).toEqual([]);
  });

  it('the shared tags put Owner, Stack and Environment over the user\'s tags', () => {
    const conventions = moduleNamed(modules, 'modules/conventions');
    const tags = (unwrapExpression(localsOf(conventions).tags) ?? '').replace(/\s+/g, ' ');
    expect(tags).toMatch(/^merge\(var\.extra_tags, \{ Owner = var\.owner Stack = var\.workload Environment = var\.environment \}\)$/);
  });

  it('check catches untagged resources, other tag sources and a module call without the shared tags', async () => {
    const module = await moduleFromSources('stacks/broken', {
      'main.tf': `
        locals {
          tags = { Owner = "me" }
        }
        resource "azurerm_resource_group" "untagged" {
          name     = "rg"
          location = "westeurope"
        }
        resource "azurerm_user_assigned_identity" "own_tags" {
          name                = "id"
          location            = "westeurope"
          resource_group_name = "rg"
          tags                = { Team = "x" }
        }
        resource "azurerm_role_assignment" "untaggable" {
          scope        = "x"
          principal_id = "y"
        }
        module "storage" {
          source = "../../modules/blob-storage"
          tags   = var.tags
        }`,
    });
    expect(checkTags(module, schemas, { root: true })).toEqual([
      'terraform/stacks/broken/main.tf: azurerm_resource_group.untagged must set tags = local.tags',
      'terraform/stacks/broken/main.tf: azurerm_user_assigned_identity.own_tags must set tags = local.tags',
      'terraform/stacks/broken: module "storage" must be passed tags = local.tags',
      'terraform/stacks/broken: local.tags must be module.conventions.tags',
    ]);
  });
});

describe('example variable files', () => {
  it.each(['bakery', 'metaflow/infra', 'metaflow/services'])('%s/example.tfvars sets only declared variables and every required one', async (name) => {
    const module = moduleNamed(modules, `stacks/${name}`);
    const file = path.join(module.dir, 'example.tfvars');
    const values = (await parseTerraformFile(file, readFileSync(file, 'utf8'))).config;
    const variables = new Map(variablesOf(module).map((variable) => [variable.labels[0] as string, variable.body]));
    expect(Object.keys(values).filter((key) => !variables.has(key))).toEqual([]);
    const required = [...variables].filter(([, body]) => !('default' in body)).map(([key]) => key);
    expect(required.filter((key) => !(key in values))).toEqual([]);
    expect(required.length).toBeGreaterThan(0);
  });
});

describe('README inputs/outputs tables', () => {
  const script = path.join(REPO_ROOT, 'scripts/terraform-docs.mjs');
  interface TerraformDocs {
    syncReadmes(dirs: string[], options: { check: boolean }): Promise<{ stale: { readme: string; reason: string }[]; updated: string[] }>;
  }
  // Imported by URL so that TypeScript does not need declarations for the plain-JavaScript script.
  const terraformDocs = () => import(pathToFileURL(script).href) as Promise<TerraformDocs>;

  it('are up to date for every stack (node scripts/terraform-docs.mjs --check, as CI runs it)', async () => {
    for (const module of modules.filter(isRootModule)) expect(existsSync(path.join(module.dir, 'README.md')), module.name).toBe(true);
    await expect(run(process.execPath, [script, '--check'], { cwd: REPO_ROOT })).resolves.toBeDefined();
  });

  it('--check reports a missing or stale README, and a rewrite brings it up to date', async () => {
    const { syncReadmes } = await terraformDocs();
    const dir = path.join(scratch, 'stack');
    const readme = path.join(dir, 'README.md');
    mkdirSync(dir);
    cpSync(path.join(TERRAFORM_ROOT, 'modules/workload-identity/outputs.tf'), path.join(dir, 'outputs.tf'));
    writeFileSync(path.join(dir, 'variables.tf'), 'variable "added" {\n  description = "A new input."\n  type        = string\n}\n');
    expect((await syncReadmes([dir], { check: true })).stale).toEqual([{ readme: path.relative(REPO_ROOT, readme), reason: 'missing' }]);

    expect((await syncReadmes([dir], { check: false })).updated).toHaveLength(1);
    const text = readFileSync(readme, 'utf8');
    expect(text).toContain('| `added` | A new input. | `string` | n/a | yes |');
    expect(text).toContain('| `client_id` | Client ID of the identity');
    expect((await syncReadmes([dir], { check: true })).stale).toEqual([]);

    writeFileSync(readme, `Hand-written intro.\n${text.replace('A new input.', 'An edited description.')}`);
    expect((await syncReadmes([dir], { check: true })).stale).toEqual([{ readme: path.relative(REPO_ROOT, readme), reason: 'out of date' }]);
    await syncReadmes([dir], { check: false });
    expect(readFileSync(readme, 'utf8')).toMatch(/^Hand-written intro\.\n[\s\S]*\| `added` \| A new input\./);
  });
});

describe('Bakery', () => {
  it('federates the worker identity to bakery/bakery-worker by default and grants it the flow account only', () => {
    const bakery = stack('bakery');
    expect(defaultOf(bakery, 'worker_namespace')).toBe('bakery');
    expect(defaultOf(bakery, 'worker_service_account_name')).toBe('bakery-worker');
    const identity = moduleCallsOf(bakery).find((call) => call.labels[0] === 'worker_identity')?.body as HclObject;
    expect(identity.service_accounts).toEqual({ worker: { namespace: '${var.worker_namespace}', name: '${var.worker_service_account_name}' } });
    expect(identity.role_assignments).toEqual({
      flow_storage: { scope: '${module.flow_storage.id}', role_definition_name: 'Storage Blob Data Contributor' },
    });
  });

  it('turns shared keys off by default, so no connection string can exist', () => {
    const storage = moduleNamed(modules, 'modules/blob-storage');
    expect(defaultOf(storage, 'shared_access_key_enabled')).toBe(false);
    const account = resourcesOf(storage).find((resource) => resource.labels[0] === 'azurerm_storage_account')?.body as HclObject;
    expect(account).toMatchObject({ min_tls_version: 'TLS1_2', allow_nested_items_to_be_public: false });
  });

  it('runs AKS with workload identity, OIDC issuer, Entra RBAC and Container Insights', () => {
    const cluster = moduleNamed(modules, 'modules/aks-cluster');
    const aks = resourcesOf(cluster).find((resource) => resource.labels[0] === 'azurerm_kubernetes_cluster')?.body as HclObject;
    expect(aks).toMatchObject({ oidc_issuer_enabled: true, workload_identity_enabled: true, local_account_disabled: true });
    expect(blockBodies(aks, 'azure_active_directory_role_based_access_control')[0]?.azure_rbac_enabled).toBe(true);
    expect(blockBodies(aks, 'oms_agent')[0]?.log_analytics_workspace_id).toBe('${azurerm_log_analytics_workspace.container_insights.id}');
  });
});

describe('Metaflow fixes the hand-run original\'s defects', () => {
  it('uses rbac.authorization.k8s.io/v1 (the _v1 kubernetes resources) and no v1beta1 API anywhere', () => {
    expect(modules.flatMap(checkKubernetesApiVersions)).toEqual([]);
    const services = stack('metaflow/services');
    expect(resourcesOf(services).map((resource) => resource.labels[0])).toContain('kubernetes_role_binding_v1');
    // Kubernetes API versions in the code (comments aside) and in the chart's manifests. The exec
    // credential API that kubelogin speaks, client.authentication.k8s.io/v1beta1, is current.
    const apiVersions = modules
      .flatMap((module) => module.files.flatMap((file) => stringsIn(file.config)))
      .filter((text) => /\b[a-z.]+\.k8s\.io\/v\d\w*/.test(text) && !text.includes('client.authentication.k8s.io/v1beta1'));
    const chartDir = path.join(services.dir, 'charts/argo-events-resources/templates');
    const manifestVersions = readdirSync(chartDir).flatMap((file) =>
      [...readFileSync(path.join(chartDir, file), 'utf8').matchAll(/^apiVersion:\s*(\S+)/gm)].map((match) => match[1]),
    );
    expect([...apiVersions, ...manifestVersions].filter((version) => /\/v\d+beta\d+\b/.test(version ?? ''))).toEqual([]);
    expect(manifestVersions).toEqual(['argoproj.io/v1alpha1', 'argoproj.io/v1alpha1']);
  });

  it('gives every Service a selector that matches its pods', () => {
    const problems = modules.flatMap(checkServiceSelectors);
    expect(problems).toEqual([]);
    expect(resourcesOf(stack('metaflow/services')).filter((resource) => resource.labels[0] === 'kubernetes_service_v1')).toHaveLength(3);
  });

  it('requires TLS from PostgreSQL clients and the metadata service connects with sslmode=require', () => {
    expect(modules.flatMap(checkPostgresTransport)).toEqual([]);
    const secret = resourcesOf(stack('metaflow/services')).find((resource) => resource.labels[0] === 'kubernetes_secret_v1')?.body;
    expect(secret?.data).toMatchObject({ MF_METADATA_DB_SSL_MODE: 'require', MF_METADATA_DB_PSWD: '${local.infra.postgres_administrator_password}' });
  });

  it('generates the database password instead of hard-coding it', () => {
    const infra = stack('metaflow/infra');
    const server = resourcesOf(infra).find((resource) => resource.labels[0] === 'azurerm_postgresql_flexible_server')?.body;
    expect(server?.administrator_password).toBe('${random_password.postgres_administrator.result}');
    expect(outputsOf(infra).find((output) => output.labels[0] === 'postgres_administrator_password')?.body.sensitive).toBe(true);
  });

  it('runs the metadata service, its migrations and the UI backend from one image version variable', () => {
    const services = stack('metaflow/services');
    const containers = resourcesOf(services)
      .filter((resource) => resource.labels[0] === 'kubernetes_deployment_v1')
      .flatMap((deployment) => {
        const podSpec = blockBodies(blockBodies(blockBodies(deployment.body, 'spec')[0] ?? {}, 'template')[0] ?? {}, 'spec')[0] ?? {};
        return [...blockBodies(podSpec, 'init_container'), ...blockBodies(podSpec, 'container')];
      });
    const image = (module: string) => containers.find((container) => JSON.stringify(container.command ?? []).includes(module))?.image;
    const images = ['services.metadata_service.server', 'run_goose.py', 'services.ui_backend_service.ui_server'].map(image);
    expect(images).toEqual(['${local.metaflow_service_image}', '${local.metaflow_service_image}', '${local.metaflow_service_image}']);
    expect(localsOf(services).metaflow_service_image).toBe('${var.metaflow_service_image_repository}:${var.metaflow_service_version}');
  });

  it('installs Argo Workflows and Argo Events from pinned chart versions', () => {
    expect(modules.flatMap(checkPinnedCharts)).toEqual([]);
    const charts = resourcesOf(stack('metaflow/services'))
      .filter((resource) => resource.labels[0] === 'helm_release' && 'repository' in resource.body)
      .map((resource) => resource.body.chart);
    expect(charts.sort()).toEqual(['argo-events', 'argo-workflows']);
  });

  it('outputs a metaflow_config with the Azure datastore, the metadata service and the Argo Events keys', () => {
    const services = stack('metaflow/services');
    const output = outputsOf(services).find((candidate) => candidate.labels[0] === 'metaflow_config')?.body;
    expect(output?.value).toBe('${jsonencode(local.metaflow_config)}');
    // It names the service URLs and the datastore root: kept out of plan output, masked by deploy. One
    // JSON string, so deploy masks the whole text rather than every short value inside it.
    expect(output?.sensitive).toBe(true);
    const config = localsOf(services).metaflow_config;
    expect(isObject(config)).toBe(true);
    expect(Object.keys(config as HclObject)).toEqual(expect.arrayContaining([
      'METAFLOW_DEFAULT_DATASTORE',
      'METAFLOW_DATASTORE_SYSROOT_AZURE',
      'METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT',
      'METAFLOW_DEFAULT_METADATA',
      'METAFLOW_SERVICE_URL',
      'METAFLOW_SERVICE_INTERNAL_URL',
      'METAFLOW_KUBERNETES_NAMESPACE',
      'METAFLOW_KUBERNETES_SERVICE_ACCOUNT',
      'METAFLOW_ARGO_EVENTS_EVENT_BUS',
      'METAFLOW_ARGO_EVENTS_EVENT_SOURCE',
      'METAFLOW_ARGO_EVENTS_EVENT',
      'METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT',
      'METAFLOW_ARGO_EVENTS_WEBHOOK_URL',
      'METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL',
    ]));
    expect(config).toMatchObject({ METAFLOW_DEFAULT_DATASTORE: 'azure', METAFLOW_DEFAULT_METADATA: 'service' });
    // Metaflow's pods carry the label that makes AKS inject the workload identity token.
    expect((config as HclObject).METAFLOW_KUBERNETES_LABELS).toBe('${local.workload_identity_label_string}');
    expect(localsOf(services).workload_identity_label_string).toContain('local.workload_identity_pod_label');
    expect(evaluate('${local.workload_identity_pod_label}', { var: {}, local: localsOf(services) })).toEqual({ 'azure.workload.identity/use': 'true' });
  });

  it('checks catch the original\'s defects', async () => {
    const original = await moduleFromSources('stacks/original', {
      'main.tf': `
        resource "kubernetes_role_binding" "operate" {
          metadata { name = "operate-workflow-role-binding" }
        }
        resource "kubernetes_deployment" "ui_static" {
          spec {
            template {
              metadata {
                labels = { app = "metaflow-ui-static-service" }
              }
            }
          }
        }
        resource "kubernetes_service" "ui_static" {
          spec {
            selector = { app = "metadata-ui-static-service" }
          }
        }
        resource "azurerm_postgresql_flexible_server_configuration" "tls" {
          name      = "require_secure_transport"
          server_id = "x"
          value     = "off"
        }
        resource "helm_release" "argo" {
          name       = "argo-workflows"
          repository = "https://argoproj.github.io/argo-helm"
          chart      = "argo-workflows"
        }
        locals {
          argo = "kubectl apply -f https://github.com/argoproj/argo-workflows/releases/latest/download/quick-start-postgres.yaml"
        }`,
    });
    expect(checkKubernetesApiVersions(original)).toEqual([
      'terraform/stacks/original/main.tf: kubernetes_deployment.ui_static uses an unversioned kubernetes resource; use kubernetes_deployment_v1',
      'terraform/stacks/original/main.tf: kubernetes_role_binding.operate uses an unversioned kubernetes resource; use kubernetes_role_binding_v1',
      'terraform/stacks/original/main.tf: kubernetes_service.ui_static uses an unversioned kubernetes resource; use kubernetes_service_v1',
    ]);
    expect(checkServiceSelectors(original)).toEqual([
      'terraform/stacks/original/main.tf: kubernetes_service.ui_static selector {"app":"metadata-ui-static-service"} matches no pod template',
    ]);
    expect(checkPostgresTransport(original)).toEqual([
      'terraform/stacks/original/main.tf: azurerm_postgresql_flexible_server_configuration.tls must set require_secure_transport to on',
    ]);
    expect(checkPinnedCharts(original)).toEqual([
      'terraform/stacks/original/main.tf: helm_release.argo must pin an exact chart version',
      'terraform/stacks/original/main.tf: installs from a "latest" URL',
    ]);
  });

  it('the selector check follows locals and merge(), and pairs a Service with its namesake Deployment', async () => {
    const source = (badSelector: string) => `
      locals {
        app      = { "app.kubernetes.io/name" = "ui" }
        api      = { "app.kubernetes.io/name" = "api" }
        identity = { "azure.workload.identity/use" = "true" }
        tier     = { tier = "web" }
      }
      resource "kubernetes_deployment_v1" "ui" {
        metadata { name = "ui" }
        spec {
          template {
            metadata { labels = merge(local.app, local.identity) }
          }
        }
      }
      resource "kubernetes_deployment_v1" "api" {
        metadata { name = "api" }
        spec {
          template {
            metadata { labels = local.api }
          }
        }
      }
      resource "kubernetes_service_v1" "good" {
        metadata { name = "ui" }
        spec { selector = local.app }
      }
      resource "kubernetes_service_v1" "bad" {
        metadata { name = "ui" }
        spec { selector = ${badSelector} }
      }`;
    const unsupported = await moduleFromSources('stacks/labels', { 'main.tf': source('merge(local.app, { tier = "web" })') });
    expect(() => checkServiceSelectors(unsupported)).toThrow(/cannot evaluate "\{ tier = "web" \}"/);

    const missingLabel = await moduleFromSources('stacks/labels', { 'main.tf': source('merge(local.app, local.tier)') });
    expect(checkServiceSelectors(missingLabel)).toEqual([
      'terraform/stacks/labels/main.tf: kubernetes_service_v1.bad selector {"app.kubernetes.io/name":"ui","tier":"web"} does not match the pods of deployment ui',
    ]);
    const wrongDeployment = await moduleFromSources('stacks/labels', { 'main.tf': source('local.api') });
    expect(checkServiceSelectors(wrongDeployment)).toEqual([
      'terraform/stacks/labels/main.tf: kubernetes_service_v1.bad selector {"app.kubernetes.io/name":"api"} does not match the pods of deployment ui',
    ]);
  });
});

it('the Metaflow stacks share infra\'s names instead of repeating them', () => {
  const services = stack('metaflow/services');
  const namespace = resourcesOf(services).find((resource) => resource.labels[0] === 'kubernetes_namespace_v1')?.body;
  expect(blockBodies(namespace ?? {}, 'metadata')[0]?.name).toBe('${local.infra.metaflow_namespace}');
});
