import { hclBlocks, terraformFiles } from './hcl-scan.js';
import { backoffDelayMs } from './retry.js';
import { StateLockError, TerraformCommandError, describeStateLock, parseStateLock, plainTerraformText } from './terraform.js';

/**
 * Reads what `terraform apply` / `terraform destroy` printed when they failed and says what kind of
 * failure it was, in the text forms the azurerm provider and Azure Resource Manager really print
 * (samples and their sources: test/fixtures/terraform-failures/). Two families:
 *
 * - retried with backoff (the same change will very likely succeed a little later): ARM throttling,
 *   Azure's PostgreSQL Flexible Server failing internally while creating a server, another operation
 *   still running on the same resource, a resource group of the same name still being deleted, and
 *   dropped connections;
 * - not retried, with guidance (waiting changes nothing; someone has to act): a quota too small,
 *   no capacity or no permission to use a VM size in the region, a missing role assignment, a state
 *   lock held by another run, a stale saved plan.
 *
 * Anything not recognised is left to the caller as a plain Terraform failure: retrying an unknown
 * error blindly can repeat a half-applied change for nothing.
 */

export type FailureKind =
  | 'throttled'
  | 'postgres-create-internal-error'
  | 'operation-in-progress'
  | 'resource-group-being-deleted'
  | 'network'
  | 'quota-exceeded'
  | 'allocation-failed'
  | 'sku-not-available'
  | 'authorization-failed'
  | 'state-locked'
  | 'stale-plan';

export interface ClassifiedFailure {
  kind: FailureKind;
  retryable: boolean;
  /** One line: what Azure or Terraform refused. */
  summary: string;
  /** What to do about it (several lines); for a retryable kind, what to do once the attempts run out. */
  guidance: string;
  /** The Terraform address from the diagnostic's `with <address>,` line, when it names one. */
  resourceAddress?: string;
  /** Backoff base for this kind (ms); the n-th retry waits about base·2^(n−1). */
  baseDelayMs?: number;
  /** A wait the service asked for ("Please try again after '5' seconds"), or the kind's floor. */
  minDelayMs?: number;
}

export interface FailureContext {
  /** `terraform` or `tofu`, for the commands we suggest. */
  commandName?: string;
  /** The planned attribute values of a resource address, to name a VM size the message leaves out. */
  plannedValues?: (address: string) => Record<string, unknown> | undefined;
  /** Variables of the root module that set a VM size (`system_pool.vm_size`); see vmSizeVariables(). */
  vmSizeVariables?: string[];
}

/** Where the Azure portal lists a subscription's quotas and takes requests for more. */
export const PORTAL_QUOTAS_URL = 'https://portal.azure.com/#view/Microsoft_Azure_Capacity/QuotaMenuBlade/~/myQuotas';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** Backoff never waits longer than this between two attempts. */
export const MAX_RETRY_DELAY_MS = 20 * MINUTE;

/** The reasons one diagnostic block gives: error codes and statuses as ARM and go-azure-sdk print them. */
function errorCodes(block: string): Set<string> {
  const codes = new Set<string>();
  const patterns = [
    /with error: ([A-Za-z_]+):/g, // go-azure-sdk: unexpected status 409 (409 Conflict) with error: AnotherOperationInProgress: …
    /\bCode="([A-Za-z_]+)"/g, // autorest: Code="SkuNotAvailable" Message="…"
    /^(?:Status|Code): "([A-Za-z_]+)"/gm, // go-azure-sdk LRO: Status: "QuotaExceeded" / Code: "OperationNotAllowed"
    /ERROR CODE: ([A-Za-z_]+)/g, // azure-sdk-for-go azcore: RESPONSE 429 … ERROR CODE: ResourceRequestsThrottled
    /"code":\s*"([A-Za-z_]+)"/g, // the API response body
    /\(([A-Z][A-Za-z]+)\) /g, // az-CLI style "(QuotaExceeded) Preflight validation …"
    /\b(ErrCode_[A-Za-z]+)\b/g, // AKS: ErrCode_InsufficientVCPUQuota
  ];
  for (const pattern of patterns) for (const match of block.matchAll(pattern)) codes.add(match[1]!);
  return codes;
}

const hasAny = (codes: Set<string>, names: string[]) => names.some((name) => codes.has(name));

/** The `with <address>,` line Terraform prints under a resource's error. */
function resourceAddressOf(block: string): string | undefined {
  return /^\s*with ([^\s,]+),\s*$/m.exec(block)?.[1];
}

/** The resource type of an address: `module.aks.azurerm_kubernetes_cluster_node_pool.user["worker"]` → `azurerm_kubernetes_cluster_node_pool`. */
function resourceTypeOf(address: string): string | undefined {
  const parts = address.replace(/\[[^\]]*\]/g, '').split('.');
  // Skip "module.<name>" pairs and a leading "data".
  let i = 0;
  while (parts[i] === 'module') i += 2;
  if (parts[i] === 'data') i++;
  return parts[i];
}

/**
 * Splits Terraform's error output into one block per `Error:` diagnostic (the frame and colours
 * removed). Text without any `Error:` line is one block.
 */
export function errorBlocks(output: string): string[] {
  const lines = plainTerraformText(output).split('\n');
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    if (/^Error: /.test(line)) {
      if (current) blocks.push(current.join('\n'));
      current = [line];
    } else if (/^Warning: /.test(line)) {
      if (current) blocks.push(current.join('\n'));
      current = undefined;
    } else current?.push(line);
  }
  if (current) blocks.push(current.join('\n'));
  return blocks.length ? blocks : [lines.join('\n')];
}

// ---------------------------------------------------------------------------------------------------
// Not retried: someone has to act
// ---------------------------------------------------------------------------------------------------

interface QuotaFacts {
  family?: string;
  region?: string;
  limit?: number;
  usage?: number;
  additional?: number;
  newLimit?: number;
  requestLink?: string;
}

function quotaFacts(block: string): QuotaFacts {
  const facts: QuotaFacts = {};
  const number = (pattern: RegExp) => {
    const match = pattern.exec(block);
    return match ? Number(match[1]) : undefined;
  };
  // "exceeding approved Total Regional Cores quota" / "exceeding approved standardBSFamily Cores quota"
  facts.family = /exceeding approved (.+?) quota/.exec(block)?.[1];
  facts.region = /Location: ([A-Za-z0-9]+)/.exec(block)?.[1];
  facts.limit = number(/Current Limit: (\d+)/);
  facts.usage = number(/Current Usage: (\d+)/);
  facts.additional = number(/Additional Required: (\d+)/);
  facts.newLimit = number(/New Limit Required: (\d+)/);
  // The older form: "exceeding quota limits of Core. Maximum allowed: 10, Current in use: 10, Additional requested: 2"
  const older = /quota limits? of ([A-Za-z0-9 ]+?)\. Maximum allowed: (\d+), Current in use: (\d+), Additional requested: (\d+)/.exec(block);
  if (older) {
    facts.family ??= older[1];
    facts.limit ??= Number(older[2]);
    facts.usage ??= Number(older[3]);
    facts.additional ??= Number(older[4]);
  }
  // AKS's own check: "Insufficient vcpu quota requested 2, remaining 0 for family StandardDasv7Family for region eastus."
  const aks = /quota requested (\d+), remaining (\d+) for family (\w+) for region (\w+)/i.exec(block);
  if (aks) {
    facts.additional ??= Number(aks[1]);
    facts.family ??= aks[3];
    facts.region ??= aks[4];
  }
  if (facts.newLimit === undefined && facts.usage !== undefined && facts.additional !== undefined) facts.newLimit = facts.usage + facts.additional;
  facts.requestLink = /(https:\/\/aka\.ms\/ProdportalCRP\/\S+?)(?= by specifying|["\s]|$)/.exec(block)?.[1];
  return facts;
}

function quotaFailure(block: string, address: string | undefined): ClassifiedFailure {
  const facts = quotaFacts(block);
  const family = facts.family ?? 'vCPU';
  const region = facts.region ?? 'the region';
  const numbers = [
    facts.limit !== undefined ? `limit ${facts.limit}` : undefined,
    facts.usage !== undefined ? `in use ${facts.usage}` : undefined,
    facts.additional !== undefined ? `this change needs ${facts.additional} more` : undefined,
  ].filter(Boolean);
  const summary = `Azure refused ${address ?? 'the change'}: the subscription's ${family} quota in ${region} is too small${numbers.length ? ` (${numbers.join(', ')})` : ''}.`;
  const target = facts.newLimit !== undefined ? ` of at least ${facts.newLimit}` : '';
  const guidance = [
    `Ask for a higher "${family}" quota${target} in ${region}: Azure portal → Quotas → Compute, filter on region ${region}, select the quota, "New quota request":`,
    `  ${PORTAL_QUOTAS_URL}`,
    ...(facts.requestLink ? [`  (Azure's own link for this request: ${facts.requestLink})`] : []),
    `See what is in use: az vm list-usage --location ${facts.region ?? '<region>'} --output table`,
    'Requests for standard VM families are usually approved automatically within minutes; then re-run this job.',
    'Or need less: lower the node pools\' max_count or pick a smaller vm_size in your var-file, or deploy to another region.',
  ].join('\n');
  return { kind: 'quota-exceeded', retryable: false, summary, guidance, resourceAddress: address };
}

/** `system_pool.vm_size`, `worker_pool.vm_size`, … : the root module's variables that choose a VM size. */
export function vmSizeVariables(workingDirectory: string): string[] {
  const found: string[] = [];
  for (const { text } of terraformFiles(workingDirectory)) {
    for (const block of hclBlocks(text, /variable\s+"([^"]+)"\s*\{/g)) {
      const name = block.header[1]!;
      // An object variable with a vm_size attribute (before any validation block, whose text may name it too).
      if (/vm_size$/.test(name)) found.push(name);
      else if (/\bvm_size\s*=/.test(block.text.split(/\bvalidation\s*\{/)[0]!)) found.push(`${name}.vm_size`);
    }
  }
  return found;
}

/** The variable that changes the VM size of the resource at `address`, from the stack's own variables. */
function vmSizeVariableFor(address: string | undefined, variables: string[]): string | undefined {
  if (!variables.length) return undefined;
  const type = address ? resourceTypeOf(address) : undefined;
  if (type === 'azurerm_kubernetes_cluster') {
    return variables.find((name) => /system|default/.test(name)) ?? (variables.length === 1 ? variables[0] : undefined);
  }
  const poolKey = address ? /\["([^"]+)"\]$/.exec(address)?.[1] ?? /\.([^.[\]]+)$/.exec(address)?.[1] : undefined;
  if (poolKey) {
    const byKey = variables.find((name) => name.split(/[._]/).includes(poolKey) || name.startsWith(`${poolKey}_`));
    if (byKey) return byKey;
  }
  const notSystem = variables.filter((name) => !/system|default/.test(name));
  return notSystem.length === 1 ? notSystem[0] : undefined;
}

/** The VM size of the failing resource: named in the message, or planned for that address. */
function vmSizeOf(block: string, address: string | undefined, context: FailureContext): string | undefined {
  const named =
    /VM size of (Standard_[A-Za-z0-9_]+)/i.exec(block)?.[1] ?? // AKS: The VM size of Standard_B2s is not allowed …
    /Capacity Restrictions: (Standard_[A-Za-z0-9_]+)/i.exec(block)?.[1] ?? // SkuNotAvailable …: Standard_D4ads_v5
    /\b(Standard_[A-Z][A-Za-z0-9]*_[A-Za-z0-9_]+)\b/.exec(block)?.[1];
  if (named) return named;
  if (!address || !context.plannedValues) return undefined;
  const values = context.plannedValues(address);
  if (!values) return undefined;
  if (typeof values.vm_size === 'string') return values.vm_size;
  const pool = (values.default_node_pool as Array<Record<string, unknown>> | undefined)?.[0];
  return typeof pool?.vm_size === 'string' ? pool.vm_size : undefined;
}

function capacityFailure(kind: 'allocation-failed' | 'sku-not-available', block: string, address: string | undefined, context: FailureContext): ClassifiedFailure {
  const vmSize = vmSizeOf(block, address, context);
  const region = /location '([^']+)'/i.exec(block)?.[1] ?? /Location: ([A-Za-z0-9]+)/.exec(block)?.[1];
  const size = vmSize ?? 'the requested VM size';
  const where = region ? ` in ${region}` : '';
  const summary =
    kind === 'allocation-failed'
      ? `Azure could not allocate ${size}${where} for ${address ?? 'the change'}: no capacity for it right now (${[...errorCodes(block)].find((code) => /Allocation/.test(code)) ?? 'AllocationFailed'}).`
      : `Azure does not offer ${size}${where} to this subscription for ${address ?? 'the change'} (SkuNotAvailable).`;
  const variable = vmSizeVariableFor(address, context.vmSizeVariables ?? []);
  const change = variable
    ? `Pick another VM size with the variable ${variable} (in your var-file: ${variable.includes('.') ? `${variable.split('.')[0]} = { vm_size = "<another size>" }` : `${variable} = "<another size>"`}), then plan and deploy again.`
    : 'Pick another VM size for that node pool (its vm_size variable in your var-file), then plan and deploy again.';
  const check = `List the sizes this subscription may use there: az vm list-skus --location ${region ?? '<region>'} --resource-type virtualMachines --output table (a size with a "NotAvailableForSubscription" restriction is out).`;
  const guidance =
    kind === 'allocation-failed'
      ? [change, 'Or deploy to another region or zone; capacity for a size often returns within hours, so a later re-run may also work.', check].join('\n')
      : [change, check, 'Or deploy to another region, or ask Azure support to enable the size for this subscription.'].join('\n');
  return { kind, retryable: false, summary, guidance, resourceAddress: address };
}

/** The least-privileged built-in role that grants `action`. */
function roleFor(action: string): string {
  if (/^Microsoft\.Authorization\/roleAssignments\//i.test(action)) return 'Role Based Access Control Administrator';
  if (/^Microsoft\.Storage\/storageAccounts\/blobServices\/containers\/blobs\//i.test(action)) return 'Storage Blob Data Contributor';
  if (/\/register\/action$/i.test(action)) return 'Contributor (at the subscription)';
  if (/\/read$/i.test(action)) return 'Reader';
  return 'Contributor';
}

/** A role is best granted on the resource group (or the subscription), not on one resource. */
function assignableScope(scope: string): string {
  const group = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)/i.exec(scope);
  if (group) return group[1]!;
  return /^(\/subscriptions\/[^/]+)/i.exec(scope)?.[1] ?? scope;
}

function authorizationFailure(block: string, address: string | undefined): ClassifiedFailure {
  // "The client '<id>' with object id '<oid>' does not have authorization to perform action '<action>' over scope '<scope>' …"
  const direct = /object id '([^']+)' does not have authorization to perform action '([^']+)' over scope '([^']+)'/.exec(block);
  // "… does not have permission to perform action(s) '<action>' on the linked scope(s) '<scope>' …"
  const linked = /does not have permission to perform action(?:\(s\))? '([^']+)' on the linked scope(?:\(s\))? '([^']+)'/.exec(block);
  const objectId = direct?.[1] ?? /object id '([^']+)'/.exec(block)?.[1];
  const action = direct?.[2] ?? linked?.[1];
  const scope = direct?.[3] ?? linked?.[2];
  const role = action ? roleFor(action) : 'Contributor';
  const summary = `The deploying identity${objectId ? ` (object id ${objectId})` : ''} may not ${action ? `perform ${action}` : 'do this'}${scope ? ` on ${scope}` : ''}${address ? ` (for ${address})` : ''}.`;
  const grantScope = scope ? assignableScope(scope) : '<scope>';
  const guidance = [
    `Grant it the "${role}" role${scope ? ` on ${grantScope}` : ''} (or a custom role with ${action ?? 'the missing action'}), for example:`,
    `  az role assignment create --assignee-object-id ${objectId ?? '<object id>'} --assignee-principal-type ServicePrincipal --role "${role.replace(/ \(.*\)$/, '')}" --scope "${grantScope}"`,
    'Role assignments take a few minutes to reach Azure Resource Manager; re-run this job after that.',
  ].join('\n');
  return { kind: 'authorization-failed', retryable: false, summary, guidance, resourceAddress: address };
}

// ---------------------------------------------------------------------------------------------------
// Retried: the same change will very likely work a little later
// ---------------------------------------------------------------------------------------------------

const NETWORK_PATTERNS: RegExp[] = [
  /connection reset by peer/i,
  /connection may have been reset/i,
  /\bi\/o timeout\b/i,
  /TLS handshake timeout/i,
  /connect: connection timed out/i,
  /Temporary failure in name resolution/i,
  /\bunexpected EOF\b/,
];

function classifyBlock(block: string, context: FailureContext): ClassifiedFailure | undefined {
  const codes = errorCodes(block);
  const address = resourceAddressOf(block);

  // Not retried first: a block can carry a retryable-looking status (409 Conflict) around a quota error.
  if (/Saved plan is stale/.test(block)) {
    return {
      kind: 'stale-plan',
      retryable: false,
      summary: 'Terraform refused the saved plan: the state changed after the plan was made (another apply ran since).',
      guidance: 'Plan again for this commit (re-run the plan job or workflow), review the new plan, and deploy that.',
    };
  }
  const quotaByMessage = /exceeding approved .+? quota|exceeding quota limits? of|Insufficient vcpu quota/i.test(block);
  if (hasAny(codes, ['QuotaExceeded', 'ErrCode_InsufficientVCPUQuota']) || quotaByMessage) return quotaFailure(block, address);
  if (hasAny(codes, ['AllocationFailed', 'ZonalAllocationFailed', 'OverconstrainedAllocationRequest', 'OverconstrainedZonalAllocationRequest'])) {
    return capacityFailure('allocation-failed', block, address, context);
  }
  if (codes.has('SkuNotAvailable') || /VM size of \S+ is not allowed in your subscription/i.test(block) || /requested (?:VM )?size for resource .+ is currently not available/i.test(block)) {
    return capacityFailure('sku-not-available', block, address, context);
  }
  if (hasAny(codes, ['AuthorizationFailed', 'LinkedAuthorizationFailed']) || /does not have authorization to perform action/i.test(block)) {
    return authorizationFailure(block, address);
  }

  const throttleWait = /try again after '(\d+)' seconds/i.exec(block)?.[1];
  if (hasAny(codes, ['TooManyRequests', 'ResourceRequestsThrottled', 'SubscriptionRequestsThrottled', 'TenantRequestsThrottled']) || /\b429\b[^\n]*Too Many Requests/i.test(block)) {
    return {
      kind: 'throttled',
      retryable: true,
      summary: `Azure Resource Manager throttled the requests${address ? ` for ${address}` : ''} (429 Too Many Requests).`,
      guidance: 'The subscription kept hitting ARM\'s request limits. Re-run later, run fewer deployments against the subscription at once, or lower Terraform\'s -parallelism.',
      resourceAddress: address,
      baseDelayMs: 30 * SECOND,
      minDelayMs: throttleWait !== undefined ? Number(throttleWait) * SECOND : undefined,
    };
  }
  const creatingFlexibleServer = /creating Flexible Server|creation of Flexible Server/i.test(block) && /postgresql|DBforPostgreSQL/i.test(block);
  if (creatingFlexibleServer && (codes.has('InternalServerError') || /InternalServerError/.test(block))) {
    const trackingId = /Tracking ID: '([^']+)'/.exec(block)?.[1];
    return {
      kind: 'postgres-create-internal-error',
      retryable: true,
      summary: `Azure Database for PostgreSQL failed internally while creating the Flexible Server${address ? ` (${address})` : ''}${trackingId ? `; tracking ID ${trackingId}` : ''}.`,
      guidance: [
        'This is a known transient fault of the Flexible Server service; it usually clears within about 20 minutes. Re-run the deploy after that.',
        'If it keeps failing, try another availability zone or region for the server, or open an Azure support request quoting the tracking ID.',
      ].join('\n'),
      resourceAddress: address,
      // The Metaflow stack's runbook said: wait 20 minutes and retry. Start at 5 and double.
      baseDelayMs: 5 * MINUTE,
    };
  }
  const anotherOperation = /Another operation .{0,40}(?:is in progress|is pending)/i.test(block);
  if (codes.has('AnotherOperationInProgress') || anotherOperation || codes.has('Conflict')) {
    return {
      kind: 'operation-in-progress',
      retryable: true,
      summary: `Another operation was still running on ${address ?? 'the resource'} (or one it depends on), so Azure refused this one (409 Conflict).`,
      guidance: 'Wait for the other operation to finish (the resource\'s Activity log shows it), then re-run the deploy.',
      resourceAddress: address,
      baseDelayMs: 30 * SECOND,
    };
  }
  if (codes.has('ResourceGroupBeingDeleted') || /is in deprovisioning state/i.test(block)) {
    const group = /resource group '([^']+)' is in deprovisioning state/i.exec(block)?.[1];
    return {
      kind: 'resource-group-being-deleted',
      retryable: true,
      summary: `The resource group${group ? ` ${group}` : ''} is still being deleted, so nothing can be created in it yet.`,
      guidance: `A deletion of a group with the same name is still under way (an earlier destroy?). Wait until \`az group exists --name ${group ?? '<group>'}\` prints false, then re-run.`,
      resourceAddress: address,
      baseDelayMs: 60 * SECOND,
    };
  }
  if (NETWORK_PATTERNS.some((pattern) => pattern.test(block))) {
    return {
      kind: 'network',
      retryable: true,
      summary: `The connection to Azure dropped${address ? ` while working on ${address}` : ''} (${NETWORK_PATTERNS.find((pattern) => pattern.test(block))!.exec(block)![0]}).`,
      guidance: 'The runner lost its connection to Azure several times in a row. Check the runner\'s network (proxy, firewall, DNS) and re-run.',
      resourceAddress: address,
      baseDelayMs: 10 * SECOND,
    };
  }
  return undefined;
}

/**
 * Classifies a failed apply or destroy from everything Terraform printed. With several errors, a
 * not-retried one wins (retrying cannot fix it), and the whole failure is retried only when every
 * error is of a retried kind. Undefined when any error is one we do not recognise.
 */
export function classifyTerraformFailure(output: string, context: FailureContext = {}): ClassifiedFailure | undefined {
  const lock = parseStateLock(output, context.commandName);
  if (lock) {
    return { kind: 'state-locked', retryable: false, summary: `The Terraform state is locked by another run (lock ${lock.id}).`, guidance: describeStateLock(lock) };
  }
  const classified = errorBlocks(output).map((block) => classifyBlock(block, context));
  const blocking = classified.find((failure) => failure && !failure.retryable);
  if (blocking) return blocking;
  if (!classified.length || classified.some((failure) => failure === undefined)) return undefined;
  // Every error is retryable: wait as long as the most demanding one asks.
  return classified.reduce((slowest, failure) =>
    (failure!.minDelayMs ?? 0) + (failure!.baseDelayMs ?? 0) > (slowest!.minDelayMs ?? 0) + (slowest!.baseDelayMs ?? 0) ? failure : slowest,
  );
}

/** Classifies an error thrown by the Terraform runner; undefined for anything that is not a Terraform failure. */
export function classifyTerraformError(error: unknown, context: FailureContext = {}): ClassifiedFailure | undefined {
  if (error instanceof StateLockError) {
    return { kind: 'state-locked', retryable: false, summary: error.message, guidance: describeStateLock(error.lock) };
  }
  if (!(error instanceof TerraformCommandError)) return undefined;
  return classifyTerraformFailure(`${error.result.stderr}\n${error.result.stdout}`, context);
}

/** How long to wait before attempt `attempt + 1`: exponential backoff with jitter, never below what was asked. */
export function retryDelayMs(failure: ClassifiedFailure, attempt: number, random: () => number = Math.random): number {
  const backoff = backoffDelayMs(attempt, failure.baseDelayMs ?? 30 * SECOND, MAX_RETRY_DELAY_MS, random);
  return Math.max(backoff, failure.minDelayMs ?? 0);
}
