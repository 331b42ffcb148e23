import * as core from '@actions/core';
import { maskAzureCredentials, readAzureAuth, type AzureAuth } from '../lib/azure-auth.js';
import { readBlobContainer, readClusterName, readNamespace, readServiceAccount, workspaceDirectory } from '../lib/common-inputs.js';
import { parseConnectionString } from '../lib/connection-string.js';
import { readDuration } from '../lib/duration.js';
import { ConfigurationError } from '../lib/errors.js';
import { GUID_PATTERN, isLoopbackHost, rawInput, readBoolean, readEnum, readList, readString, readUrl } from '../lib/inputs.js';
import { registerSecret } from '../lib/mask.js';
import { readFlowPodPlacement, readJsonInput, type PodPlacement } from '../lib/pod-placement.js';
import { PREFECT_NAME_PATTERN, readPrefectConnection, readWorkPool, type PrefectConnection } from '../lib/prefect.js';

export const ORCHESTRATORS = ['prefect', 'metaflow'] as const;
export type Orchestrator = (typeof ORCHESTRATORS)[number];

interface CommonInputs {
  /** The `flows` lines as given (entrypoints, files or globs); resolved against `workingDirectory`. */
  flows: string[];
  /** Absolute. */
  workingDirectory: string;
  tags: string[];
  auth: AzureAuth;
}

export interface PrefectInputs extends CommonInputs {
  orchestrator: 'prefect';
  prefect: PrefectConnection;
  workPool: string;
  deploymentName: string;
  image: string;
  namespace: string;
  serviceAccount: string;
  /** Without a trailing slash; what the pod's pull step reaches with its workload identity. */
  blobEndpoint: string;
  container: string;
  /** The container the flows cache their inputs and write their outputs in (deploy's flow-cache-container-name). */
  cacheContainer?: string;
  /** Folder prefix in the container: code goes to `<prefix>/<flow>/<hash>/`. */
  codePrefix: string;
  parameters: Record<string, unknown>;
  cron?: { expression: string; timezone: string };
  run: boolean;
  runTimeoutMs: number;
  pollIntervalMs: number;
  clusterName?: string;
  /** An ARM resource id (/subscriptions/…/workspaces/<name>) or the workspace (customer) GUID. */
  logAnalyticsWorkspace?: string;
  /** Where the flow's own pods (Dask workers) must go: passed to the flow as BAKERY_FLOW_POD_*. */
  flowPodPlacement: PodPlacement;
}

export interface MetaflowInputs extends CommonInputs {
  orchestrator: 'metaflow';
  /** The metaflow_config stack output: METAFLOW_* settings, passed to Metaflow as environment. */
  metaflowConfig: Record<string, string>;
  python: string;
}

export type Inputs = PrefectInputs | MetaflowInputs;

const CODE_PREFIX = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;
/** registry[:port]/repository[:tag][@sha256:digest], the OCI distribution reference grammar, simplified. */
const IMAGE_REFERENCE =
  /^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const WORKSPACE_RESOURCE_ID = /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Config keys whose values are masked, in case a stack ever puts a credential in its Metaflow config. */
const SECRET_KEY = /SECRET|PASSWORD|PASSWD|TOKEN|KEY|AUTH|CREDENTIAL|CONNECTION_STRING|SAS/i;

/** Five cron fields and the range of plain numbers in each. */
const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;
const CRON_FIELD_CHARACTERS = /^[0-9A-Za-z*/,?#LW-]+$/;

/** Checks the shape Prefect's croniter accepts: five fields, plausible characters, numbers in range. */
export function checkCron(expression: string): void {
  const fields = expression.trim().split(/\s+/);
  const fix = 'Set "cron" to five fields: minute hour day-of-month month day-of-week, e.g. "0 6 * * *" (06:00 every day) or "*/30 * * * 1-5".';
  if (fields.length !== 5) {
    const extra = fields.length === 6 ? ' (a seconds field is not supported)' : expression.startsWith('@') ? ' (write a macro such as @daily as "0 0 * * *")' : '';
    throw new ConfigurationError('cron', `is ${JSON.stringify(expression)}, which has ${fields.length} field${fields.length === 1 ? '' : 's'}, not 5${extra}`, fix);
  }
  fields.forEach((field, index) => {
    const rule = CRON_FIELDS[index]!;
    if (!CRON_FIELD_CHARACTERS.test(field)) {
      throw new ConfigurationError('cron', `has ${JSON.stringify(field)} as its ${rule.name} field, which holds a character cron does not use`, fix);
    }
    for (const number of field.match(/\d+/g) ?? []) {
      // A number after "/" is a step, after "#" an nth-weekday: they have their own ranges.
      const at = field.indexOf(number);
      const before = field[at - 1];
      if (before === '/' || before === '#') continue;
      if (Number(number) < rule.min || Number(number) > rule.max) {
        throw new ConfigurationError('cron', `has ${number} in its ${rule.name} field, outside ${rule.min}–${rule.max}`, fix);
      }
    }
  });
}

function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ConfigurationError('timezone', `is ${JSON.stringify(timezone)}, which is not an IANA time zone`, 'Set "timezone" to a name such as UTC, Europe/Amsterdam or America/New_York.');
  }
}

function readJsonObject(name: string, fix: string): Record<string, unknown> | undefined {
  const value = readJsonInput(name, fix);
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError(name, `is JSON ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}, not an object`, fix);
  }
  return value as Record<string, unknown>;
}

/** The metaflow_config output: a JSON object of string values, each a valid environment name. */
export function readMetaflowConfig(): Record<string, string> {
  // Mask first: the raw text may hold a credential, and error messages below quote keys only.
  const fix = 'Pass the metaflow stack\'s output as is: `metaflow-config: ${{ steps.deploy.outputs.metaflow-config }}`.';
  const text = rawInput('metaflow-config');
  if (!text) throw new ConfigurationError('metaflow-config', 'is required with "orchestrator: metaflow" but empty', fix);
  const config = readJsonObject('metaflow-config', fix)!;
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'string') {
      throw new ConfigurationError('metaflow-config', `has ${JSON.stringify(key)} set to a ${value === null ? 'null' : typeof value}, not a string`, `Metaflow reads its configuration from environment variables, which are strings: quote the value of ${key}.`);
    }
    if (!ENV_NAME.test(key)) {
      throw new ConfigurationError('metaflow-config', `has the key ${JSON.stringify(key)}, which is not an environment variable name`, 'Use names of letters, digits and underscores, e.g. METAFLOW_DATASTORE_SYSROOT_AZURE.');
    }
    if (SECRET_KEY.test(key)) registerSecret(value);
    result[key] = value;
  }
  if (Object.keys(result).length === 0) {
    throw new ConfigurationError('metaflow-config', 'is an empty object', fix);
  }
  return result;
}

function readBlobEndpoint(auth: AzureAuth): string {
  const given = readUrl('flow-storage-blob-endpoint', {
    expected: 'the flow storage account\'s blob endpoint URL',
    example: 'https://bakeryflows.blob.core.windows.net/',
  });
  const fromConnectionString = auth.connectionString ? parseConnectionString(auth.connectionString).blobEndpoint : undefined;
  const endpoint = (given ?? fromConnectionString)?.replace(/\/+$/, '');
  if (!endpoint) {
    throw new ConfigurationError('flow-storage-blob-endpoint', 'is required but empty', 'Pass the bakery stack\'s flow_storage_blob_endpoint output, e.g. `${{ steps.deploy.outputs.flow-storage-blob-endpoint }}`.');
  }
  const url = new URL(endpoint);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigurationError('flow-storage-blob-endpoint', `is plain http:// to ${url.hostname}; Azure Storage requires https`, 'Use the https:// blob endpoint (http is accepted only for a local emulator).');
  }
  return endpoint;
}

function readCommon(orchestrator: Orchestrator): Omit<CommonInputs, 'auth'> {
  const flows = readList('flows');
  if (flows.length === 0) {
    const example = orchestrator === 'prefect' ? 'flows/oisst/flow.py:oisst (or a glob such as flows/*/flow.py)' : 'flows/train.py';
    throw new ConfigurationError('flows', 'is required but empty', `List one flow per line, e.g. ${example}.`);
  }
  const workingDirectory = workspaceDirectory(
    'working-directory',
    readString('working-directory', { default: '.' }),
    'Set "working-directory" to the directory the "flows" lines are relative to, relative to the repository root.',
  );
  const tags = readList('tags');
  return { flows, workingDirectory, tags };
}

function readPrefectInputs(common: Omit<CommonInputs, 'auth'>): PrefectInputs {
  const prefect = readPrefectConnection({ required: true })!;
  const workPool = readWorkPool({ required: true });
  const deploymentName = readString('deployment-name', { default: workPool, pattern: PREFECT_NAME_PATTERN, expected: 'a deployment name (no / % & > <)', example: 'production' });
  const image = readString('image', {
    required: true,
    pattern: IMAGE_REFERENCE,
    expected: 'an image reference registry/repository[:tag][@sha256:digest]',
    example: 'bakeryacr.azurecr.io/bakery-flows@sha256:<digest>',
  });
  if (!image.includes('@sha256:') && !/:[^/]+$/.test(image)) {
    core.warning(`"image" (${image}) has neither a tag nor a digest, so pods run whatever :latest is when they start; pass build-image's "image" output (pinned by digest).`);
  }
  const namespace = readNamespace();
  const serviceAccount = readServiceAccount();
  const container = readBlobContainer('flow-storage-container', { required: true, example: 'flows' });
  const cacheContainer = readBlobContainer('flow-cache-container', { example: 'flow-cache' });
  const codePrefix = readString('code-prefix', { default: 'flows', pattern: CODE_PREFIX, expected: 'a folder path of letters, digits, _ and -', example: 'flows' });
  const parameters = readJsonObject('parameters', 'Set "parameters" to a JSON object of the flow\'s parameters, e.g. {"dates": ["1981-09-01", "1981-09-02"]}.') ?? {};
  const cronExpression = readString('cron');
  const timezone = readString('timezone', { default: 'UTC' });
  if (cronExpression) {
    checkCron(cronExpression);
    checkTimezone(timezone);
  }
  const run = readBoolean('run', false);
  const runTimeoutMs = readDuration('run-timeout', { default: '30m', min: '10s', max: '6h' });
  const pollIntervalMs = readDuration('poll-interval', { default: '5s', min: '1s', max: '5m' });
  const clusterName = readClusterName();
  const logAnalyticsWorkspace = readString('log-analytics-workspace-id');
  if (logAnalyticsWorkspace && !WORKSPACE_RESOURCE_ID.test(logAnalyticsWorkspace) && !GUID_PATTERN.test(logAnalyticsWorkspace)) {
    throw new ConfigurationError(
      'log-analytics-workspace-id',
      `is ${JSON.stringify(logAnalyticsWorkspace.slice(0, 80))}, which is neither a workspace resource id nor a workspace GUID`,
      'Pass the bakery stack\'s log_analytics_workspace_id output (/subscriptions/…/providers/Microsoft.OperationalInsights/workspaces/<name>).',
    );
  }
  const flowPodPlacement = readFlowPodPlacement();
  const auth = readAzureAuth({ allowConnectionString: true, needsSubscription: false });
  const blobEndpoint = readBlobEndpoint(auth);
  return {
    orchestrator: 'prefect',
    ...common,
    auth,
    prefect,
    workPool,
    deploymentName,
    image,
    namespace,
    serviceAccount,
    blobEndpoint,
    container,
    cacheContainer,
    codePrefix,
    parameters,
    cron: cronExpression ? { expression: cronExpression.trim().split(/\s+/).join(' '), timezone } : undefined,
    run,
    runTimeoutMs,
    pollIntervalMs,
    clusterName,
    logAnalyticsWorkspace,
    flowPodPlacement,
  };
}

function readMetaflowInputs(common: Omit<CommonInputs, 'auth'>): MetaflowInputs {
  const metaflowConfig = readMetaflowConfig();
  if (readBoolean('run', false)) {
    throw new ConfigurationError('run', 'is true, but a smoke run is supported with "orchestrator: prefect" only', 'Remove "run", and trigger the workflow with `python <flow.py> argo-workflows trigger` in a later step.');
  }
  if (rawInput('auth').toLowerCase() === 'connection-string') {
    throw new ConfigurationError('auth', 'is "connection-string", which Metaflow cannot use: it reaches its datastore through Entra ID', 'Set "auth" to oidc, client-secret or azure-cli.');
  }
  const python = readString('python', { default: 'python', pattern: /^[^\s]+$/, expected: 'a Python executable name or path', example: 'python3' });
  const auth = readAzureAuth({ allowConnectionString: false, needsSubscription: false });
  return { orchestrator: 'metaflow', ...common, auth, metaflowConfig, python };
}

export function readInputs(): Inputs {
  // Masked before anything else is read; which auth applies depends on the orchestrator.
  maskAzureCredentials();
  const orchestrator = readEnum('orchestrator', ORCHESTRATORS, 'prefect');
  const common = readCommon(orchestrator);
  return orchestrator === 'prefect' ? readPrefectInputs(common) : readMetaflowInputs(common);
}
