/**
 * No literal secrets in Terraform code or example variable files: no password, key, token or
 * connection string written as a string, no secret variable with a default, and no string shaped like
 * a real credential anywhere.
 */
import { isExpression, isObject, unwrapExpression, variablesOf, type HclObject, type HclValue, type TerraformFile, type TerraformModule } from './hcl.js';

/** Argument, variable, local or environment-variable names that hold secrets. */
export const SECRET_NAME = /(^|[_.\-/])(password|passwd|pswd|secret|client_secret|token|access_key|account_key|connection_string|private_key|api_key|sas)($|[_.\-/])/i;

/** Strings that look like credentials whatever they are called. */
const CREDENTIAL_SHAPES: [string, RegExp][] = [
  ['a storage connection string', /AccountKey=|SharedAccessSignature=/i],
  ['a SAS signature', /[?&]sig=[A-Za-z0-9%+/=]{20,}/],
  ['a private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['a GitHub token', /\bgh[pousr]_[A-Za-z0-9]{30,}/],
  ['a storage account key', /(^|[^A-Za-z0-9+/])[A-Za-z0-9+/]{86}==/],
];

/** Finds literal secrets in a parsed .tf or .tfvars file. */
export function findLiteralSecretsInFile(file: TerraformFile): string[] {
  const problems: string[] = [];
  const visit = (value: HclValue, path: string): void => {
    if (typeof value === 'string') {
      for (const [what, shape] of CREDENTIAL_SHAPES) {
        if (shape.test(value)) problems.push(`${file.name}: ${path} contains what looks like ${what}`);
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}[${index}]`));
      return;
    }
    if (!isObject(value)) return;
    for (const [name, item] of Object.entries(value)) {
      if (SECRET_NAME.test(name) && isLiteralString(item)) problems.push(`${file.name}: ${path}.${name} is a literal secret`);
      visit(item, path === '' ? name : `${path}.${name}`);
    }
    // env { name = "DB_PASSWORD", value = "..." } and similar name/value pairs.
    if (typeof value.name === 'string' && SECRET_NAME.test(value.name) && isLiteralString(value.value)) {
      problems.push(`${file.name}: ${path} sets ${value.name} to a literal`);
    }
  };
  visit(file.config, '');
  return problems;
}

function isLiteralString(value: HclValue | undefined): boolean {
  return typeof value === 'string' && !isExpression(value);
}

/**
 * Literal secrets anywhere in a module, plus secret-named string variables that have a default (a
 * default is a literal secret in waiting) or are not marked sensitive. Booleans and numbers such as
 * shared_access_key_enabled only switch secrets on or off.
 */
export function findLiteralSecrets(module: TerraformModule): string[] {
  const problems = module.files.flatMap((file) => findLiteralSecretsInFile(file));
  for (const variable of variablesOf(module)) {
    const name = variable.labels[0] as string;
    const body: HclObject = variable.body;
    if (!SECRET_NAME.test(name) || ['bool', 'number'].includes(unwrapExpression(body.type) ?? '')) continue;
    if ('default' in body && body.default !== null) problems.push(`${module.name}: secret variable "${name}" has a default`);
    if (body.sensitive !== true) problems.push(`${module.name}: secret variable "${name}" is not marked sensitive`);
  }
  return problems;
}
