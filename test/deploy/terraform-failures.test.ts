import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Terraform } from '../../src/lib/terraform.js';
import { classifyTerraformError, classifyTerraformFailure, errorBlocks, retryDelayMs, vmSizeVariables, PORTAL_QUOTAS_URL, type FailureKind } from '../../src/lib/terraform-failures.js';
import { FAKE_TERRAFORM } from '../support/fake-terraform.js';

const SAMPLES = path.resolve(import.meta.dirname, '../fixtures/terraform-failures');
const sample = (name: string) => readFileSync(path.join(SAMPLES, name), 'utf8');
const BAKERY_VM_VARIABLES = ['system_pool.vm_size', 'worker_pool.vm_size'];

describe('classifyTerraformFailure: not retried, with guidance', () => {
  it('QuotaExceeded names the quota, the region, the numbers and where to ask for more', () => {
    const failure = classifyTerraformFailure(sample('quota-exceeded.txt'))!;
    expect(failure.kind).toBe('quota-exceeded');
    expect(failure.retryable).toBe(false);
    expect(failure.resourceAddress).toBe('azurerm_kubernetes_cluster.default');
    expect(failure.summary).toContain('Total Regional Cores quota in westus2');
    expect(failure.summary).toContain('limit 10, in use 6, this change needs 6 more');
    expect(failure.guidance).toContain('of at least 12 in westus2');
    expect(failure.guidance).toContain(PORTAL_QUOTAS_URL);
    expect(failure.guidance).toContain('https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView/Parameters/');
    expect(failure.guidance).toContain('az vm list-usage --location westus2');
  });

  it('QuotaExceeded for one VM family names that family', () => {
    const failure = classifyTerraformFailure(sample('quota-exceeded-family.txt'))!;
    expect(failure.kind).toBe('quota-exceeded');
    expect(failure.summary).toContain('standardBSFamily Cores quota in eastus2 is too small (limit 50, in use 48, this change needs 4 more)');
    expect(failure.guidance).toContain('"standardBSFamily Cores" quota of at least 52 in eastus2');
  });

  it('AllocationFailed names the VM size (from the plan) and the variable that changes it', () => {
    const failure = classifyTerraformFailure(sample('allocation-failed.txt'), {
      vmSizeVariables: ['system_pool.vm_size', 'infracictrl_pool.vm_size'],
      plannedValues: (address) => (address === 'azurerm_kubernetes_cluster_node_pool.infracictrl' ? { vm_size: 'Standard_D4pds_v5' } : undefined),
    })!;
    expect(failure.kind).toBe('allocation-failed');
    expect(failure.retryable).toBe(false);
    expect(failure.summary).toContain('could not allocate Standard_D4pds_v5');
    expect(failure.summary).toContain('OverconstrainedZonalAllocationRequest');
    expect(failure.guidance).toContain('the variable infracictrl_pool.vm_size');
    expect(failure.guidance).toContain('infracictrl_pool = { vm_size = "<another size>" }');
  });

  it('a VM size the subscription may not use names the size, the region and the default pool variable', () => {
    const failure = classifyTerraformFailure(sample('sku-not-available.txt'), { vmSizeVariables: BAKERY_VM_VARIABLES })!;
    expect(failure.kind).toBe('sku-not-available');
    expect(failure.summary).toContain('Standard_B2s in westus2');
    expect(failure.guidance).toContain('the variable system_pool.vm_size');
    expect(failure.guidance).toContain('az vm list-skus --location westus2');
  });

  it('SkuNotAvailable on a user node pool points at that pool\'s variable', () => {
    const failure = classifyTerraformFailure(sample('sku-not-available-capacity.txt'), { vmSizeVariables: BAKERY_VM_VARIABLES })!;
    expect(failure.kind).toBe('sku-not-available');
    expect(failure.summary).toContain('Standard_D4ads_v5 in eastus');
    expect(failure.guidance).toContain('the variable worker_pool.vm_size');
  });

  it('AuthorizationFailed names the identity, the missing action, the role and the scope to grant it on', () => {
    const failure = classifyTerraformFailure(sample('authorization-failed.txt'))!;
    expect(failure.kind).toBe('authorization-failed');
    expect(failure.retryable).toBe(false);
    expect(failure.summary).toContain('object id cca26a02-04f6-4d8b-85c1-d55f6dd4cca3');
    expect(failure.summary).toContain('Microsoft.Authorization/roleAssignments/write');
    expect(failure.guidance).toContain('"Role Based Access Control Administrator" role on /subscriptions/d2cd53b3-07b1-4964-9563-3f5201556a81/resourceGroups/ci-dotnet-service-bus-test');
    expect(failure.guidance).toContain('az role assignment create --assignee-object-id cca26a02-04f6-4d8b-85c1-d55f6dd4cca3');
  });

  it('a held state lock says who holds it and how to release it', () => {
    const failure = classifyTerraformFailure(sample('state-locked.txt'))!;
    expect(failure.kind).toBe('state-locked');
    expect(failure.retryable).toBe(false);
    expect(failure.summary).toContain('e9eb9ed7-a3bc-ae67-640d-ad4cb06fae7a');
    expect(failure.guidance).toContain('terraform force-unlock -force e9eb9ed7-a3bc-ae67-640d-ad4cb06fae7a');
  });

  it('a stale saved plan asks for a new plan', () => {
    const failure = classifyTerraformFailure(sample('stale-plan.txt'))!;
    expect(failure.kind).toBe('stale-plan');
    expect(failure.retryable).toBe(false);
    expect(failure.guidance).toMatch(/Plan again/);
  });
});

describe('classifyTerraformFailure: retried', () => {
  it('429 throttling', () => {
    const failure = classifyTerraformFailure(sample('throttled.txt'))!;
    expect(failure).toMatchObject({ kind: 'throttled', retryable: true, resourceAddress: 'azurerm_role_management_policy.contributor' });
  });

  it('throttling honours the wait the service asked for', () => {
    const failure = classifyTerraformFailure(sample('throttled-retry-after.txt'))!;
    expect(failure).toMatchObject({ kind: 'throttled', retryable: true, minDelayMs: 5000 });
    expect(retryDelayMs({ ...failure, baseDelayMs: 1 }, 1, () => 0)).toBe(5000);
  });

  it('InternalServerError while creating a PostgreSQL Flexible Server, with a long first wait', () => {
    const failure = classifyTerraformFailure(sample('postgres-internal-server-error.txt'))!;
    expect(failure).toMatchObject({ kind: 'postgres-create-internal-error', retryable: true, resourceAddress: 'azurerm_postgresql_flexible_server.metaflow' });
    expect(failure.summary).toContain("tracking ID 648bacd3-484c-43ff-8e03-78657e36971c");
    // Full jitter keeps at least a quarter of the 5-minute base; the third retry waits at most 20 minutes.
    expect(retryDelayMs(failure, 1, () => 0)).toBe(75_000);
    expect(retryDelayMs(failure, 3, () => 1)).toBe(20 * 60_000);
  });

  it('the same InternalServerError while updating a server is not retried (nothing says waiting helps)', () => {
    expect(classifyTerraformFailure(sample('postgres-internal-server-error-update.txt'))).toBeUndefined();
  });

  it('AnotherOperationInProgress (409 Conflict)', () => {
    expect(classifyTerraformFailure(sample('another-operation-in-progress.txt'))).toMatchObject({ kind: 'operation-in-progress', retryable: true });
  });

  it('AKS "Another operation (Updating) is in progress"', () => {
    expect(classifyTerraformFailure(sample('aks-operation-in-progress.txt'))).toMatchObject({
      kind: 'operation-in-progress',
      retryable: true,
      resourceAddress: 'azurerm_kubernetes_cluster_node_pool.user["worker"]',
    });
  });

  it('ResourceGroupBeingDeleted', () => {
    const failure = classifyTerraformFailure(sample('resource-group-being-deleted.txt'))!;
    expect(failure).toMatchObject({ kind: 'resource-group-being-deleted', retryable: true });
    expect(failure.guidance).toContain('az group exists --name management-australiasoutheast');
  });

  it.each(['network-connection-reset.txt', 'network-reset-by-peer.txt', 'network-tls-handshake-timeout.txt', 'network-io-timeout.txt'])('transient network error: %s', (name) => {
    expect(classifyTerraformFailure(sample(name))).toMatchObject({ kind: 'network', retryable: true });
  });
});

describe('classifyTerraformFailure: several errors, unknown errors', () => {
  it('a not-retried error wins over a retried one in the same run', () => {
    const both = `${sample('throttled.txt')}\n${sample('quota-exceeded.txt')}`;
    expect(classifyTerraformFailure(both)).toMatchObject({ kind: 'quota-exceeded', retryable: false });
  });

  it('an unrecognised error next to a retried one makes the whole failure unrecognised', () => {
    const unknown = '╷\n│ Error: Unsupported argument\n│ \n│   on main.tf line 3, in resource "azurerm_resource_group" "this":\n│    3:   colour = "blue"\n╵\n';
    expect(classifyTerraformFailure(`${sample('throttled.txt')}\n${unknown}`)).toBeUndefined();
    expect(classifyTerraformFailure(unknown)).toBeUndefined();
  });

  it('splits output into one block per Error: diagnostic and ignores warnings', () => {
    const text = `╷\n│ Warning: Deprecated attribute\n│ \n│ x\n╵\n${sample('throttled.txt')}${sample('another-operation-in-progress.txt')}`;
    const blocks = errorBlocks(text);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toMatch(/^Error: retrieving Role Management Policy/);
    expect(blocks.join('\n')).not.toContain('Deprecated attribute');
  });
});

describe('vmSizeVariables', () => {
  it('finds the variables that choose a VM size, object attributes and plain ones', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vm-size-vars-'));
    writeFileSync(
      path.join(dir, 'variables.tf'),
      [
        'variable "system_pool" {\n  type = object({\n    vm_size = optional(string, "Standard_D2s_v5")\n  })\n  default = {}\n}',
        'variable "location" {\n  type = string\n  validation {\n    condition = var.location != "vm_size = x"\n    error_message = "no"\n  }\n}',
        'variable "gpu_pool_vm_size" {\n  type = string\n}',
      ].join('\n\n'),
    );
    expect(vmSizeVariables(dir)).toEqual(['system_pool.vm_size', 'gpu_pool_vm_size']);
  });

  it('reads the real bakery and metaflow stacks', () => {
    const stacks = path.resolve(import.meta.dirname, '../../terraform/stacks');
    expect(vmSizeVariables(path.join(stacks, 'bakery'))).toEqual(expect.arrayContaining(['system_pool.vm_size', 'worker_pool.vm_size']));
    expect(vmSizeVariables(path.join(stacks, 'metaflow/infra'))).toEqual(expect.arrayContaining(['default_pool.vm_size', 'taskworkers_pool.vm_size']));
  });
});

describe('each class as the Terraform runner meets it: the fake terraform prints the sample and exits 1', () => {
  const expected: [string, FailureKind | undefined, boolean | undefined][] = [
    ['quota-exceeded.txt', 'quota-exceeded', false],
    ['quota-exceeded-family.txt', 'quota-exceeded', false],
    ['allocation-failed.txt', 'allocation-failed', false],
    ['sku-not-available.txt', 'sku-not-available', false],
    ['sku-not-available-capacity.txt', 'sku-not-available', false],
    ['authorization-failed.txt', 'authorization-failed', false],
    ['state-locked.txt', 'state-locked', false],
    ['stale-plan.txt', 'stale-plan', false],
    ['throttled.txt', 'throttled', true],
    ['throttled-retry-after.txt', 'throttled', true],
    ['postgres-internal-server-error.txt', 'postgres-create-internal-error', true],
    ['postgres-internal-server-error-update.txt', undefined, undefined],
    ['another-operation-in-progress.txt', 'operation-in-progress', true],
    ['aks-operation-in-progress.txt', 'operation-in-progress', true],
    ['resource-group-being-deleted.txt', 'resource-group-being-deleted', true],
    ['network-connection-reset.txt', 'network', true],
    ['network-reset-by-peer.txt', 'network', true],
    ['network-tls-handshake-timeout.txt', 'network', true],
    ['network-io-timeout.txt', 'network', true],
  ];

  it('covers every sample in the fixtures directory', () => {
    const files = readdirSync(SAMPLES).filter((name) => name.endsWith('.txt')).sort();
    expect(expected.map(([name]) => name).sort()).toEqual(files);
  });

  it.each(expected)('%s → %s (retryable: %s)', async (name, kind, retryable) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tf-failure-'));
    mkdirSync(path.join(dir, '.terraform'));
    const terraform = new Terraform({
      binary: FAKE_TERRAFORM,
      workingDirectory: dir,
      env: { FAKE_TF_CALLS: path.join(dir, 'calls.jsonl'), FAKE_TF_FAIL: 'apply:1', FAKE_TF_FAIL_TEXT: path.join(SAMPLES, name) },
      statusIntervalMs: 60_000,
    });
    const error = await terraform.apply('tfplan').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error, 'the fake must make apply fail').toBeDefined();
    const failure = classifyTerraformError(error);
    expect(failure?.kind).toBe(kind);
    expect(failure?.retryable).toBe(retryable);
  });
});
