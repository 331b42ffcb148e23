import { describe, expect, it } from 'vitest';
import { PUBLIC_CLOUD, cloudOfArmEndpoint, cloudOfTerraformName } from '../../src/lib/azure-clouds.js';
import { blobEndpointFor, type BackendConfig } from '../../src/lib/backend-config.js';
import { portalLink } from '../../src/deploy/report.js';
import { renderBackendConfig } from '../../src/setup-remote-state/backend-file.js';

// One table of what differs between Azure clouds, read by the backend file (setup-remote-state), the
// state's Blob endpoint (plan, deploy, destroy) and the portal links (deploy, register-flow).

describe('the Azure clouds', () => {
  it('finds a cloud by its Resource Manager endpoint, and none for an emulator or stand-in', () => {
    expect(cloudOfArmEndpoint('https://management.azure.com')).toBe(PUBLIC_CLOUD);
    expect(cloudOfArmEndpoint('https://Management.USGovCloudAPI.net/')?.terraformName).toBe('usgovernment');
    expect(cloudOfArmEndpoint('https://management.chinacloudapi.cn')?.portal).toBe('https://portal.azure.cn');
    expect(cloudOfArmEndpoint('https://127.0.0.1:8443')).toBeUndefined();
  });

  it('finds a cloud by the azurerm backend\'s environment name, public by default', () => {
    expect(cloudOfTerraformName(undefined)).toBe(PUBLIC_CLOUD);
    expect(cloudOfTerraformName('USGovernment').storageSuffix).toBe('core.usgovcloudapi.net');
    expect(cloudOfTerraformName('german')).toBe(PUBLIC_CLOUD);
  });

  it('agrees across the backend file, the state endpoint and the portal link', () => {
    const armEndpoint = 'https://management.chinacloudapi.cn';
    const file = renderBackendConfig({ method: 'oidc', armEndpoint, subscriptionId: 's', resourceGroup: 'rg', storageAccount: 'acct', container: 'tfstate', stateKey: 'bakery/dev.tfstate' });
    expect(file).toMatch(/^environment\s+= "china"$/m);
    const backend = { storage_account_name: 'acct', container_name: 'tfstate', key: 'k', environment: 'china', attributes: {} } satisfies BackendConfig;
    expect(blobEndpointFor(backend)).toBe('https://acct.blob.core.chinacloudapi.cn');
    expect(portalLink({ armEndpoint, subscriptionId: 's', resourceGroup: 'rg' })).toBe('https://portal.azure.cn/#resource/subscriptions/s/resourceGroups/rg/overview');
    // The public cloud is the backend's default: no environment line, and no warning about an unknown cloud.
    const publicFile = renderBackendConfig({ method: 'oidc', armEndpoint: PUBLIC_CLOUD.armEndpoint, storageAccount: 'acct', container: 'tfstate', stateKey: 'k' });
    expect(publicFile).not.toMatch(/^environment/m);
    expect(publicFile).not.toMatch(/not a cloud Terraform knows/);
    expect(renderBackendConfig({ method: 'oidc', armEndpoint: 'https://127.0.0.1:8443', storageAccount: 'acct', container: 'tfstate', stateKey: 'k' })).toMatch(/is not a cloud Terraform knows by name/);
  });
});
