/**
 * What `terraform validate` checks about arguments, done against the provider schemas that
 * scripts/extract-provider-schemas.mjs extracted from the prebuilt CDKTF provider packages: every
 * argument and nested block of every resource, data source and provider configuration, at any depth,
 * must exist in the schema, be written as argument or block as the schema says, and required ones must
 * be present.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  REPO_ROOT,
  dataSourcesOf,
  isObject,
  providersOf,
  resourcesOf,
  type HclObject,
  type HclValue,
  type LabelledBlock,
  type TerraformModule,
} from './hcl.js';

export interface AttributeSchema {
  required?: true;
  /** Names inside an object-typed argument (Plugin Framework nested attributes). */
  attributes?: Record<string, AttributeSchema>;
}

export interface BlockSchema {
  attributes: Record<string, AttributeSchema>;
  blocks: Record<string, NestedBlockSchema>;
}

export interface NestedBlockSchema extends BlockSchema {
  required?: true;
  /** The block may appear at most once. */
  single?: true;
}

export interface ProviderSchemas {
  providers: Record<string, { package: string; source: string; version: string }>;
  provider: Record<string, BlockSchema>;
  resource: Record<string, BlockSchema>;
  data: Record<string, BlockSchema>;
}

export const PROVIDER_SCHEMA_FILE = path.join(REPO_ROOT, 'test/fixtures/provider-schemas/providers.json');

export function loadProviderSchemas(file = PROVIDER_SCHEMA_FILE): ProviderSchemas {
  return JSON.parse(readFileSync(file, 'utf8')) as ProviderSchemas;
}

/** Meta-arguments Terraform itself handles, by where they may appear. */
const RESOURCE_META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection']);
const DATA_META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle']);
const PROVIDER_META_ARGUMENTS = new Set(['alias']);

/**
 * Checks one body against its schema and returns the problems found, each naming the offending path.
 * `blockPaths` (from blockSyntaxPaths) tells which lists of objects were written as blocks.
 */
export function checkBodyAgainstSchema(
  body: HclObject,
  schema: BlockSchema,
  where: { path: string; label: string; blockPaths: Set<string>; metaArguments?: Set<string> },
): string[] {
  const problems: string[] = [];
  const at = (name: string) => `${where.label}: ${name}`;
  const present = new Set<string>();

  for (const [name, value] of Object.entries(body)) {
    if (where.metaArguments?.has(name)) continue;
    const path = `${where.path}/${name}`;

    if (name === 'dynamic' && isObject(value)) {
      for (const [blockName, dynamicBodies] of Object.entries(value)) {
        const nested = schema.blocks[blockName];
        if (!nested) {
          problems.push(`${at(`dynamic "${blockName}"`)}: no block "${blockName}" in the schema`);
          continue;
        }
        present.add(blockName);
        for (const dynamicBody of asBodies(dynamicBodies)) {
          for (const content of asBodies(dynamicBody.content)) {
            problems.push(...checkBodyAgainstSchema(content, nested, {
              path: `${path}/${blockName}/content`,
              label: `${where.label}.dynamic.${blockName}.content`,
              blockPaths: where.blockPaths,
            }));
          }
        }
      }
      continue;
    }

    const nestedBlock = schema.blocks[name];
    if (nestedBlock) {
      present.add(name);
      const bodies = asBodies(value);
      if (!Array.isArray(value) || bodies.length !== value.length || !where.blockPaths.has(path)) {
        problems.push(`${at(name)} is a block: write ${name} { ... }, not ${name} = ...`);
        continue;
      }
      if (nestedBlock.single && bodies.length > 1) problems.push(`${at(name)} may appear only once`);
      for (const nestedBody of bodies) {
        problems.push(...checkBodyAgainstSchema(nestedBody, nestedBlock, { path, label: `${where.label}.${name}`, blockPaths: where.blockPaths }));
      }
      continue;
    }

    const attribute = schema.attributes[name];
    if (!attribute) {
      problems.push(`${at(name)} is not an argument or block of this type`);
      continue;
    }
    present.add(name);
    if (where.blockPaths.has(path)) {
      problems.push(`${at(name)} is an argument: write ${name} = ..., not ${name} { ... }`);
      continue;
    }
    if (attribute.attributes) {
      // Literal objects (or lists of them) can be checked key by key; expressions cannot.
      const objects = Array.isArray(value) ? value.filter(isObject) : isObject(value) ? [value] : [];
      for (const object of objects) {
        problems.push(...checkBodyAgainstSchema(object, { attributes: attribute.attributes, blocks: {} }, {
          path,
          label: `${where.label}.${name}`,
          blockPaths: where.blockPaths,
        }));
      }
    }
  }

  for (const [name, attribute] of Object.entries(schema.attributes)) {
    if (attribute.required && !present.has(name)) problems.push(`${at(name)}: required argument missing`);
  }
  for (const [name, block] of Object.entries(schema.blocks)) {
    if (block.required && !present.has(name)) problems.push(`${at(name)}: required block missing`);
  }
  return problems;
}

function asBodies(value: HclValue | undefined): HclObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Checks every resource, data source and provider configuration of a module. */
export function checkModuleAgainstSchemas(module: TerraformModule, schemas: ProviderSchemas): string[] {
  const check = (blocks: LabelledBlock[], section: keyof Omit<ProviderSchemas, 'providers'>, metaArguments: Set<string>) =>
    blocks.flatMap((block) => {
      const type = block.labels[0] as string;
      const label = `${block.file.name}: ${block.labels.join('.')}`;
      const schema = schemas[section][type];
      if (!schema) return [`${label}: no ${section} schema for "${type}" (run scripts/extract-provider-schemas.mjs)`];
      return checkBodyAgainstSchema(block.body, schema, { path: block.path, label, blockPaths: block.file.blockPaths, metaArguments });
    });
  return [
    ...check(resourcesOf(module), 'resource', RESOURCE_META_ARGUMENTS),
    ...check(dataSourcesOf(module), 'data', DATA_META_ARGUMENTS),
    ...check(providersOf(module), 'provider', PROVIDER_META_ARGUMENTS),
  ];
}
