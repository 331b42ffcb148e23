import { armError, loadArmFixture, TEST_IDS, type ArmRequest, type ArmResponse, type AzureStandIn } from './azure-stand-in.js';

/**
 * Stateful ARM routes for Microsoft.Resources resource groups and Microsoft.Storage accounts, blob
 * services and containers, registered on an AzureStandIn. Every body is an official example from
 * ../shared/fixtures/azure-rest with the example's names, ids and locations replaced by the request's;
 * what the example's response only echoed from the example's request is replaced by what this request
 * asked for. Creating an account is a long-running operation (202 + Location, polled until done), as
 * in Azure. Errors use ARM's envelope with the codes and messages Azure answers with.
 */

const FIXTURES = {
  resourceGroup: 'Microsoft.Resources/2025-04-01/CreateResourceGroup.json',
  accountCreate: 'Microsoft.Storage/2026-09-01/StorageAccountCreate.json',
  accountGet: 'Microsoft.Storage/2026-09-01/StorageAccountGetProperties.json',
  nameAvailability: 'Microsoft.Storage/2026-04-01/StorageAccountCheckNameAvailability.json',
  blobServiceGet: 'Microsoft.Storage/2025-08-01/BlobServicesGet.json',
  blobServicePut: 'Microsoft.Storage/2026-06-01/BlobServicesPut.json',
  containerPut: 'Microsoft.Storage/2026-09-01/BlobContainersPut.json',
  containerGet: 'Microsoft.Storage/2025-08-01/BlobContainersGet.json',
} as const;

type Json = Record<string, unknown>;

interface StoredAccount {
  resourceGroup: string;
  body: Json;
  blobService: Json;
  containers: Map<string, Json>;
}

export interface ArmStorageOptions {
  /** Blob endpoint reported for every account (an Azurite started with `oauth: true`); default the example's, renamed. */
  blobEndpoint?: string;
  /** 202 answers to polls before an account creation finishes (the first 202 not counted). */
  createPolls?: number;
}

/** Replaces every whole-string occurrence of each key (example names and ids) with its value. */
function substitute<T>(value: T, replacements: Record<string, string>): T {
  let text = JSON.stringify(value);
  for (const [from, to] of Object.entries(replacements)) text = text.split(from).join(to);
  return JSON.parse(text) as T;
}

function exampleBody(fixture: string, status: string): Json {
  const body = loadArmFixture(fixture).responses[status]?.body;
  if (!body) throw new Error(`${fixture} has no ${status} body`);
  return structuredClone(body) as Json;
}

function exampleParameters(fixture: string): Json {
  return loadArmFixture(fixture).parameters as Json;
}

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const API_VERSION_MISSING = armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');

export interface InjectedFailure {
  method: string;
  pathIncludes: string;
  response: ArmResponse;
  times: number;
}

export class ArmStorage {
  readonly resourceGroups = new Map<string, Json>();
  readonly accounts = new Map<string, StoredAccount>();
  /** Account names taken by other subscriptions (storage account names are global). */
  readonly takenElsewhere = new Set<string>();
  private readonly failures: InjectedFailure[] = [];

  constructor(
    private readonly standIn: AzureStandIn,
    private readonly options: ArmStorageOptions = {},
  ) {
    const sub = '/subscriptions/([^/]+)';
    const rg = `${sub}/resourcegroups/([^/]+)`;
    const account = `${rg}/providers/Microsoft\\.Storage/storageAccounts/([^/]+)`;
    const route = (method: string, pattern: string, handler: (request: ArmRequest, match: RegExpExecArray) => ArmResponse) =>
      standIn.route(method, new RegExp(`^${pattern}$`, 'i'), (request, match) => this.guard(request, match, handler));
    route('POST', `${sub}/providers/Microsoft\\.Storage/checkNameAvailability`, (r) => this.checkName(r));
    route('GET', rg, (_r, m) => this.getGroup(m[2]!));
    route('HEAD', rg, (_r, m) => ({ status: this.resourceGroups.has(m[2]!.toLowerCase()) ? 204 : 404 }));
    route('PUT', rg, (r, m) => this.putGroup(m[2]!, r.body as Json));
    route('PATCH', rg, (r, m) => this.patchGroup(m[2]!, r.body as Json));
    route('DELETE', rg, (_r, m) => this.deleteGroup(m[2]!));
    route('GET', account, (_r, m) => this.getAccount(m[2]!, m[3]!));
    route('PUT', account, (r, m) => this.putAccount(m[2]!, m[3]!, r.body as Json));
    route('PATCH', account, (r, m) => this.patchAccount(m[2]!, m[3]!, r.body as Json));
    route('DELETE', account, (_r, m) => this.deleteAccount(m[2]!, m[3]!));
    route('GET', `${account}/blobServices/default`, (_r, m) => this.withAccount(m[2]!, m[3]!, (a) => ({ status: 200, body: a.blobService })));
    route('PUT', `${account}/blobServices/default`, (r, m) => this.putBlobService(m[2]!, m[3]!, r.body as Json));
    route('GET', `${account}/blobServices/default/containers/([^/]+)`, (_r, m) => this.getContainer(m[2]!, m[3]!, m[4]!));
    route('PUT', `${account}/blobServices/default/containers/([^/]+)`, (r, m) => this.putContainer(m[2]!, m[3]!, m[4]!, r.body as Json));
  }

  /** The next `times` requests of `method` whose path includes `pathIncludes` get `response`. */
  failNext(method: string, pathIncludes: string, response: ArmResponse, times = 1): this {
    this.failures.push({ method: method.toUpperCase(), pathIncludes, response, times });
    return this;
  }

  clearFailures(): this {
    this.failures.length = 0;
    return this;
  }

  /** A resource group that exists before the test (as created by CreateResourceGroup). */
  seedResourceGroup(name: string, location: string, tags?: Record<string, string>): Json {
    const body = this.groupBody(name, location, tags);
    this.resourceGroups.set(name.toLowerCase(), body);
    return body;
  }

  /**
   * An account that exists before the test: the StorageAccountGetProperties example as-is (an older
   * account: HTTPS-only off, no minimum TLS, shared keys allowed) with `properties` laid over it, and
   * the BlobServicesGet example's blob service (versioning on, blob soft delete 300 days, no container
   * soft delete).
   */
  seedAccount(resourceGroup: string, name: string, overrides: { kind?: string; tags?: Record<string, string>; properties?: Json } = {}): Json {
    const body = substitute(exampleBody(FIXTURES.accountGet, '200'), this.accountNames(FIXTURES.accountGet, resourceGroup, name));
    if (overrides.kind) body.kind = overrides.kind;
    if (overrides.tags) body.tags = overrides.tags;
    Object.assign(body.properties as Json, overrides.properties);
    this.applyBlobEndpoint(body);
    const blobService = substitute(exampleBody(FIXTURES.blobServiceGet, '200'), this.accountNames(FIXTURES.blobServiceGet, resourceGroup, name));
    this.accounts.set(name.toLowerCase(), { resourceGroup, body, blobService, containers: new Map() });
    return body;
  }

  account(name: string): StoredAccount | undefined {
    return this.accounts.get(name.toLowerCase());
  }

  private guard(request: ArmRequest, match: RegExpExecArray, handler: (request: ArmRequest, match: RegExpExecArray) => ArmResponse): ArmResponse {
    const failure = this.failures.find((f) => f.method === request.method && request.path.includes(f.pathIncludes) && f.times > 0);
    if (failure) {
      failure.times--;
      return failure.response;
    }
    if (!request.query.get('api-version')) return API_VERSION_MISSING;
    if (match[1] !== TEST_IDS.subscriptionId) return armError(404, 'SubscriptionNotFound', `The subscription '${match[1]}' could not be found.`);
    return handler(request, match);
  }

  /** The example's names and ids → this request's. */
  private accountNames(fixture: string, resourceGroup: string, account: string): Record<string, string> {
    const parameters = exampleParameters(fixture);
    return {
      '{subscription-id}': TEST_IDS.subscriptionId,
      [String(parameters.subscriptionId)]: TEST_IDS.subscriptionId,
      [`/resourceGroups/${String(parameters.resourceGroupName)}/`]: `/resourceGroups/${resourceGroup}/`,
      [String(parameters.accountName)]: account,
    };
  }

  private applyBlobEndpoint(body: Json): void {
    if (this.options.blobEndpoint) (body.properties as { primaryEndpoints: Json }).primaryEndpoints.blob = `${this.options.blobEndpoint.replace(/\/$/, '')}/`;
  }

  private groupBody(name: string, location: string, tags?: Record<string, string>): Json {
    const body = exampleBody(FIXTURES.resourceGroup, '200');
    body.id = `/subscriptions/${TEST_IDS.subscriptionId}/resourceGroups/${name}`;
    body.name = name;
    body.location = location;
    if (tags) body.tags = tags;
    return body;
  }

  private groupMissing(name: string): ArmResponse {
    return armError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
  }

  private getGroup(name: string): ArmResponse {
    const group = this.resourceGroups.get(name.toLowerCase());
    return group ? { status: 200, body: group } : this.groupMissing(name);
  }

  private putGroup(name: string, request: Json | undefined): ArmResponse {
    const location = request?.location;
    if (typeof location !== 'string' || !location) return armError(400, 'LocationRequired', 'The location property is required for this definition.');
    const existing = this.resourceGroups.get(name.toLowerCase());
    if (existing && existing.location !== location) {
      return armError(409, 'InvalidResourceGroupLocation', `Invalid resource group location '${location}'. The Resource group already exists in location '${String(existing.location)}'.`);
    }
    const body = this.groupBody(existing ? String(existing.name) : name, location, request?.tags as Record<string, string> | undefined);
    this.resourceGroups.set(name.toLowerCase(), body);
    return { status: existing ? 200 : 201, body };
  }

  private patchGroup(name: string, request: Json | undefined): ArmResponse {
    const group = this.resourceGroups.get(name.toLowerCase());
    if (!group) return this.groupMissing(name);
    if (request?.tags) group.tags = request.tags;
    return { status: 200, body: group };
  }

  private deleteGroup(name: string): ArmResponse {
    if (!this.resourceGroups.has(name.toLowerCase())) return this.groupMissing(name);
    // As in the ForceDeleteVMsInResourceGroup example: 202 with a Location, polled until 200.
    return this.standIn.accepted(() => {
      this.resourceGroups.delete(name.toLowerCase());
      for (const [key, account] of this.accounts) if (account.resourceGroup.toLowerCase() === name.toLowerCase()) this.accounts.delete(key);
      return { status: 200 };
    });
  }

  private checkName(request: ArmRequest): ArmResponse {
    const { name, type } = (request.body ?? {}) as { name?: string; type?: string };
    if (type !== 'Microsoft.Storage/storageAccounts') {
      return armError(400, 'InvalidRequestContent', `The request content was invalid: type must be Microsoft.Storage/storageAccounts, not '${String(type)}'.`);
    }
    if (!name || !ACCOUNT_NAME.test(name)) {
      return {
        status: 200,
        body: {
          nameAvailable: false,
          reason: 'AccountNameInvalid',
          message: `${String(name)} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`,
        },
      };
    }
    if (this.takenElsewhere.has(name) || this.accounts.has(name)) {
      return { status: 200, body: { nameAvailable: false, reason: 'AlreadyExists', message: `The storage account named ${name} is already taken.` } };
    }
    return { status: 200, body: exampleBody(FIXTURES.nameAvailability, '200') };
  }

  private accountMissing(resourceGroup: string, name: string): ArmResponse {
    return armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.Storage/storageAccounts/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }

  private withAccount(resourceGroup: string, name: string, then: (account: StoredAccount) => ArmResponse): ArmResponse {
    if (!this.resourceGroups.has(resourceGroup.toLowerCase())) return this.groupMissing(resourceGroup);
    const account = this.accounts.get(name.toLowerCase());
    if (!account || account.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) return this.accountMissing(resourceGroup, name);
    return then(account);
  }

  private getAccount(resourceGroup: string, name: string): ArmResponse {
    return this.withAccount(resourceGroup, name, (account) => ({ status: 200, body: account.body }));
  }

  /**
   * The StorageAccountCreate example's response for this request: names, location, kind, sku and tags
   * from the request; the properties the example only echoed from its own request replaced by this
   * request's (server-side ones — endpoints, creationTime, provisioningState — kept).
   */
  private createdAccountBody(resourceGroup: string, name: string, request: Json): Json {
    const body = substitute(exampleBody(FIXTURES.accountCreate, '200'), this.accountNames(FIXTURES.accountCreate, resourceGroup, name));
    const exampleRequest = (exampleParameters(FIXTURES.accountCreate).parameters ?? {}) as Json;
    const properties = body.properties as Json;
    for (const echoed of Object.keys((exampleRequest.properties ?? {}) as Json)) delete properties[echoed];
    Object.assign(properties, request.properties ?? {});
    if (!request.extendedLocation) delete body.extendedLocation;
    const skuName = String((request.sku as Json).name);
    body.kind = request.kind;
    body.sku = { name: skuName, tier: skuName.startsWith('Premium') ? 'Premium' : 'Standard' };
    body.location = request.location;
    body.tags = request.tags ?? {};
    properties.primaryLocation = request.location;
    properties.creationTime = new Date().toISOString();
    properties.provisioningState = 'Succeeded';
    if (!/GRS|GZRS/.test(skuName)) {
      // Only geo-redundant accounts have a secondary.
      delete properties.secondaryLocation;
      delete properties.statusOfSecondary;
    }
    this.applyBlobEndpoint(body);
    return body;
  }

  /** A new account's blob service: the BlobServicesGet example's shape with the service defaults (no versioning, no soft delete). */
  private defaultBlobService(resourceGroup: string, name: string): Json {
    const body = substitute(exampleBody(FIXTURES.blobServiceGet, '200'), this.accountNames(FIXTURES.blobServiceGet, resourceGroup, name));
    body.properties = { cors: { corsRules: [] }, deleteRetentionPolicy: { allowPermanentDelete: false, enabled: false } };
    return body;
  }

  private putAccount(resourceGroup: string, name: string, request: Json | undefined): ArmResponse {
    if (!this.resourceGroups.has(resourceGroup.toLowerCase())) return this.groupMissing(resourceGroup);
    if (!request?.location || !request.kind || !(request.sku as Json | undefined)?.name) {
      return armError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: location, kind and sku.name are required.');
    }
    if (!ACCOUNT_NAME.test(name)) return armError(400, 'AccountNameInvalid', `${name} is not a valid storage account name.`);
    if (this.takenElsewhere.has(name)) return armError(409, 'StorageAccountAlreadyTaken', `The storage account named ${name} is already taken.`);
    const existing = this.accounts.get(name.toLowerCase());
    if (existing && existing.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) {
      return armError(409, 'StorageAccountInAnotherResourceGroup', `The account ${name} is already in another resource group in this subscription.`);
    }
    if (existing) {
      // PUT on an existing account updates it in place and answers at once.
      Object.assign(existing.body.properties as Json, request.properties ?? {});
      if (request.tags) existing.body.tags = request.tags;
      return { status: 200, body: existing.body };
    }
    return this.standIn.accepted(() => {
      const stored = this.accounts.get(name.toLowerCase()) ?? {
        resourceGroup,
        body: this.createdAccountBody(resourceGroup, name, request),
        blobService: this.defaultBlobService(resourceGroup, name),
        containers: new Map<string, Json>(),
      };
      this.accounts.set(name.toLowerCase(), stored);
      return { status: 200, body: stored.body };
    }, this.options.createPolls ?? 1);
  }

  private patchAccount(resourceGroup: string, name: string, request: Json | undefined): ArmResponse {
    return this.withAccount(resourceGroup, name, (account) => {
      const { properties, tags, kind, sku } = request ?? {};
      Object.assign(account.body.properties as Json, properties ?? {});
      if (tags) account.body.tags = tags;
      if (kind) account.body.kind = kind;
      if (sku) account.body.sku = sku;
      return { status: 200, body: account.body };
    });
  }

  /** As in the StorageAccountDelete example: 200 when deleted, 204 when there was nothing to delete. */
  private deleteAccount(resourceGroup: string, name: string): ArmResponse {
    const existing = this.accounts.get(name.toLowerCase());
    if (!existing || existing.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) return { status: 204 };
    this.accounts.delete(name.toLowerCase());
    return { status: 200 };
  }

  private putBlobService(resourceGroup: string, name: string, request: Json | undefined): ArmResponse {
    return this.withAccount(resourceGroup, name, (account) => {
      // Same shape as the BlobServicesPut example's answer: the stored service with the request's properties laid over it.
      const shape = Object.keys(exampleBody(FIXTURES.blobServicePut, '200'));
      Object.assign(account.blobService.properties as Json, request?.properties ?? {});
      const body = Object.fromEntries(shape.filter((key) => key in account.blobService).map((key) => [key, account.blobService[key]]));
      return { status: 200, body };
    });
  }

  private containerBody(resourceGroup: string, account: string, container: string): Json {
    const names = { ...this.accountNames(FIXTURES.containerGet, resourceGroup, account), [String(exampleParameters(FIXTURES.containerGet).containerName)]: container };
    const body = substitute(exampleBody(FIXTURES.containerGet, '200'), names);
    // The example's container is under a legal hold and a locked immutability policy; a new one is not.
    const properties = body.properties as Json;
    delete properties.immutabilityPolicy;
    delete properties.legalHold;
    properties.hasImmutabilityPolicy = false;
    properties.hasLegalHold = false;
    properties.lastModifiedTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return body;
  }

  private getContainer(resourceGroup: string, name: string, container: string): ArmResponse {
    return this.withAccount(resourceGroup, name, (account) => {
      const body = account.containers.get(container);
      return body
        ? { status: 200, body }
        : armError(404, 'ContainerNotFound', `The specified container does not exist.`);
    });
  }

  private putContainer(resourceGroup: string, name: string, container: string, request: Json | undefined): ArmResponse {
    return this.withAccount(resourceGroup, name, (account) => {
      const existed = account.containers.has(container);
      const body = account.containers.get(container) ?? this.containerBody(resourceGroup, name, container);
      Object.assign(body.properties as Json, (request?.properties ?? {}) as Json);
      account.containers.set(container, body);
      return { status: existed ? 200 : 201, body };
    });
  }
}

export function registerArmStorage(standIn: AzureStandIn, options: ArmStorageOptions = {}): ArmStorage {
  return new ArmStorage(standIn, options);
}
