import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Request and response checks for a few operations of an OpenAPI 3.0 description (GitHub's
 * @octokit/openapi, for instance), for stand-ins that must answer like the real service: each
 * request's path and query parameters and JSON body, and each response the stand-in sends, are
 * validated against the operation's schemas.
 *
 * Only the components the chosen operations reach are compiled, and OpenAPI 3.0's `nullable` is
 * rewritten into JSON Schema (Ajv rejects `nullable` next to allOf/anyOf without a `type`, which
 * GitHub's issue schema has).
 */

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
  /** GitHub's extension: a path parameter that spans several segments (a file path, a ref with slashes). */
  'x-multi-segment'?: boolean;
}

export interface CompiledOperation {
  operationId: string;
  method: string;
  /** The path template, e.g. /repos/{owner}/{repo}/issues/{issue_number}. */
  path: string;
  pattern: RegExp;
  pathParameters: string[];
  queryParameters: Set<string>;
  integerParameters: Set<string>;
  validateParameters: ValidateFunction;
  validateBody?: ValidateFunction;
  /** Top-level properties the body schema declares (a misspelt one is silently ignored by real APIs). */
  bodyProperties?: Set<string>;
  responses: Map<number, ValidateFunction | undefined>;
}

/** OpenAPI 3.0 `nullable: true` → JSON Schema: `type: [t, 'null']`, or `anyOf: [schema, {type: null}]`. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) if (key !== 'nullable') out[key] = toJsonSchema(value);
  if ((node as Json).nullable !== true) return out;
  // A nullable enum admits null although its list does not name it (GitHub's state_reason, for one).
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] };
  return { anyOf: [out, { type: 'null' }] };
}

/** The `#/components/...` entries reachable from `roots`, as { kind: { name: value } }. */
function reachableComponents(spec: Json, roots: unknown[]): Record<string, Json> {
  const components: Record<string, Json> = {};
  const pending = [...roots];
  const seen = new Set<string>();
  while (pending.length) {
    const node = pending.pop();
    if (Array.isArray(node)) pending.push(...node);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && !seen.has(value)) {
          seen.add(value);
          const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(value) ?? [];
          if (!kind || !name) throw new Error(`unsupported $ref ${value}`);
          const target = ((spec.components as Json)[kind] as Json)[name];
          (components[kind] ??= {})[name] = target;
          pending.push(target);
        } else pending.push(value);
      }
    }
  }
  return components;
}

export function compileOperations(spec: Json, wanted: ReadonlyArray<{ method: string; path: string }>): CompiledOperation[] {
  const paths = spec.paths as Record<string, Record<string, Json>>;
  const picked = wanted.map(({ method, path }) => {
    const operation = paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the description has no ${method} ${path}`);
    return { method: method.toUpperCase(), path, operation };
  });
  const components = toJsonSchema(reachableComponents(spec, picked.map((entry) => entry.operation))) as Record<string, Json>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  (addFormatsModule as unknown as (instance: Ajv) => void)(ajv);
  const base = 'openapi-description';
  ajv.addSchema({ $id: base, components }, base);
  const resolve = <T>(node: unknown): T => {
    const ref = (node as { $ref?: string } | undefined)?.$ref;
    if (!ref) return node as T;
    const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(ref)!;
    return resolve<T>(components[kind!]![name!]);
  };
  // Local refs are rewritten to point into the schema added above.
  const compile = (schema: unknown) => ajv.compile(JSON.parse(JSON.stringify(toJsonSchema(schema)).replace(/"#\/components\//g, `"${base}#/components/`)) as Json);

  return picked.map(({ method, path, operation }) => {
    const parameters = ((operation.parameters as unknown[]) ?? []).map((parameter) => resolve<Parameter>(parameter)).filter((parameter) => parameter.in === 'path' || parameter.in === 'query');
    const pathParameters: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/\{(\w+)\}/g, (_match, name: string) => {
        pathParameters.push(name);
        return parameters.some((parameter) => parameter.name === name && parameter['x-multi-segment']) ? '(.+)' : '([^/]+)';
      })}$`,
    );
    const body = resolve<{ content?: Record<string, { schema: Json }> } | undefined>(operation.requestBody);
    const bodySchema = body?.content?.['application/json']?.schema;
    const responses = new Map<number, ValidateFunction | undefined>();
    for (const [status, response] of Object.entries(operation.responses as Json)) {
      const schema = resolve<{ content?: Record<string, { schema: Json }> }>(response).content?.['application/json']?.schema;
      responses.set(Number(status), schema ? compile(schema) : undefined);
    }
    const resolvedBody = bodySchema ? resolve<Json>(bodySchema) : undefined;
    return {
      operationId: String(operation.operationId),
      method,
      path,
      pattern,
      pathParameters,
      queryParameters: new Set(parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name)),
      integerParameters: new Set(parameters.filter((parameter) => parameter.schema?.type === 'integer').map((parameter) => parameter.name)),
      validateParameters: compile({
        type: 'object',
        properties: Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter.schema ?? {}])),
        required: parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name),
      }),
      validateBody: bodySchema ? compile(bodySchema) : undefined,
      bodyProperties: resolvedBody?.properties ? new Set(Object.keys(resolvedBody.properties as Json)) : undefined,
      responses,
    };
  });
}

export interface MatchedRequest {
  operation: CompiledOperation;
  /** Path and query parameters, integers converted as the description types them. */
  params: Record<string, string | number>;
}

/** The operation a request is for, or undefined when none of the compiled ones serves it. */
export function matchRequest(operations: CompiledOperation[], method: string, url: URL): MatchedRequest | undefined {
  for (const operation of operations) {
    const match = operation.method === method ? operation.pattern.exec(url.pathname) : null;
    if (!match) continue;
    const params: Record<string, string | number> = {};
    operation.pathParameters.forEach((name, index) => (params[name] = decodeURIComponent(match[index + 1]!)));
    for (const [name, value] of url.searchParams) params[name] = value;
    for (const name of operation.integerParameters) {
      if (typeof params[name] === 'string' && /^-?\d+$/.test(params[name])) params[name] = Number(params[name]);
    }
    return { operation, params };
  }
  return undefined;
}

/** Everything about a request that does not match the description; empty when it does. */
export function requestProblems({ operation, params }: MatchedRequest, body: unknown): string[] {
  const problems: string[] = [];
  const name = `${operation.method} ${operation.path}`;
  for (const key of Object.keys(params)) {
    if (!operation.pathParameters.includes(key) && !operation.queryParameters.has(key)) problems.push(`${name}: unknown query parameter '${key}'`);
  }
  if (!operation.validateParameters(params)) problems.push(`${name}: parameters ${JSON.stringify(operation.validateParameters.errors)}`);
  if (operation.validateBody) {
    if (!operation.validateBody(body)) problems.push(`${name}: body ${JSON.stringify(operation.validateBody.errors)}`);
    for (const key of Object.keys((body as Json | undefined) ?? {})) {
      if (operation.bodyProperties && !operation.bodyProperties.has(key)) problems.push(`${name}: body property '${key}' is not in the description`);
    }
  } else if (body !== undefined) {
    problems.push(`${name}: takes no body`);
  }
  return problems;
}

export interface ResponseCheckOptions {
  /**
   * Accept an error status (400 and up) the operation does not list. GitHub's description leaves out
   * answers any operation can give (401 Bad credentials, 404 for a repository the token cannot see); a
   * listed error status must still match its schema, and a success status must always be listed.
   */
  allowUnlistedErrors?: boolean;
}

/** Everything about a response that does not match the description; empty when it does. */
export function responseProblems(operation: CompiledOperation, status: number, body: unknown, options: ResponseCheckOptions = {}): string[] {
  const name = `${operation.method} ${operation.path}`;
  if (!operation.responses.has(status)) {
    return options.allowUnlistedErrors && status >= 400 ? [] : [`${name}: answered ${status}, which the description does not list`];
  }
  const validate = operation.responses.get(status);
  if (validate && !validate(body)) return [`${name}: ${status} response ${JSON.stringify(validate.errors).slice(0, 1000)}`];
  return [];
}

/** The `value` of each named entry of `#/components/examples` (the description's own sample payloads). */
export function componentExamples(spec: Json, names: readonly string[]): Record<string, Json> {
  const examples = ((spec.components as Json).examples ?? {}) as Record<string, { value?: Json }>;
  return Object.fromEntries(
    names.map((name) => {
      const value = examples[name]?.value;
      if (!value) throw new Error(`the description has no example named ${name}`);
      return [name, value];
    }),
  );
}
