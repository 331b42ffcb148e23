/**
 * What differs between the Azure clouds, in one table: the Resource Manager endpoint an action is
 * given (`arm-endpoint`), the storage endpoint suffix, the portal, and the name Terraform's azurerm
 * backend knows the cloud by (`environment`). Anything else (an emulator, a stand-in) is no known cloud.
 */
export interface AzureCloud {
  /** The azurerm backend's `environment` value. */
  terraformName: 'public' | 'usgovernment' | 'china';
  armEndpoint: string;
  storageSuffix: string;
  portal: string;
}

export const AZURE_CLOUDS: readonly AzureCloud[] = [
  { terraformName: 'public', armEndpoint: 'https://management.azure.com', storageSuffix: 'core.windows.net', portal: 'https://portal.azure.com' },
  { terraformName: 'usgovernment', armEndpoint: 'https://management.usgovcloudapi.net', storageSuffix: 'core.usgovcloudapi.net', portal: 'https://portal.azure.us' },
  { terraformName: 'china', armEndpoint: 'https://management.chinacloudapi.cn', storageSuffix: 'core.chinacloudapi.cn', portal: 'https://portal.azure.cn' },
];

export const PUBLIC_CLOUD = AZURE_CLOUDS[0]!;

/** The cloud whose Resource Manager `armEndpoint` is (as readAzureAuth returns it: no trailing slash). */
export function cloudOfArmEndpoint(armEndpoint: string): AzureCloud | undefined {
  const endpoint = armEndpoint.replace(/\/+$/, '').toLowerCase();
  return AZURE_CLOUDS.find((cloud) => cloud.armEndpoint === endpoint);
}

/** The cloud of an azurerm backend `environment` value; the public cloud when it names none. */
export function cloudOfTerraformName(environment: string | undefined): AzureCloud {
  return AZURE_CLOUDS.find((cloud) => cloud.terraformName === (environment ?? 'public').toLowerCase()) ?? PUBLIC_CLOUD;
}
