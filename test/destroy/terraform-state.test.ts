import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnreadableStateError, managedResources, parseTerraformState } from '../../src/lib/terraform-state.js';

const STATES = path.resolve(import.meta.dirname, '../fixtures/terraform-state');
const state = (name: string) => readFileSync(path.join(STATES, name), 'utf8');

describe('terraform-state: what a state file still manages', () => {
  it('lists every managed instance of a live v4 state: module paths, for_each keys and count indexes; no data sources', () => {
    const summary = parseTerraformState(state('bakery-live.tfstate'), 'bakery/prod.tfstate');
    expect(summary).toMatchObject({ formatVersion: 4, terraformVersion: '1.9.8', serial: 27, lineage: '5c8f3b3e-6a1e-9d8a-3c1f-0b7e2f4d9a11' });
    expect(summary.managed).toEqual([
      'azurerm_resource_group.this',
      'module.aks.azurerm_kubernetes_cluster.this',
      'module.aks.azurerm_kubernetes_cluster_node_pool.user["worker"]',
      'module.flow_storage.azurerm_storage_container.this[0]',
      'module.flow_storage.azurerm_storage_container.this[1]',
    ]);
  });

  it('a destroyed state manages nothing', () => {
    expect(managedResources(state('bakery-destroyed.tfstate'))).toEqual([]);
  });

  it('data sources and managed resources without instances are nothing to protect', () => {
    expect(managedResources(state('metaflow-services-data-only.tfstate'))).toEqual([]);
  });

  it('a version 3 state (Terraform 0.11) still counts what it manages', () => {
    const v3 = JSON.stringify({
      version: 3,
      terraform_version: '0.11.14',
      serial: 4,
      lineage: '2a1b3c4d-0000-4000-8000-000000000000',
      modules: [
        { path: ['root'], outputs: {}, resources: { 'azurerm_resource_group.rg': { type: 'azurerm_resource_group' }, 'data.azurerm_client_config.current': { type: 'azurerm_client_config' } } },
        { path: ['root', 'aks'], outputs: {}, resources: { 'azurerm_kubernetes_cluster.k8s': { type: 'azurerm_kubernetes_cluster' } } },
      ],
    });
    expect(managedResources(v3)).toEqual(['azurerm_resource_group.rg', 'module.aks.azurerm_kubernetes_cluster.k8s']);
  });

  it('anything else cannot be ruled out and is reported as unreadable', () => {
    expect(() => parseTerraformState('not json', 'x.tfstate')).toThrow(new UnreadableStateError('x.tfstate is not JSON'));
    expect(() => parseTerraformState('[]', 'x.tfstate')).toThrow(UnreadableStateError);
    expect(() => parseTerraformState('{"version": 5, "resources": []}', 'x.tfstate')).toThrow('x.tfstate has state format version 5; only versions 3 and 4 are understood');
    expect(() => parseTerraformState('{"version": 4, "resources": {}}', 'x.tfstate')).toThrow('x.tfstate: "resources" is not a list');
  });
});
