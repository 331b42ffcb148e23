import { afterEach, describe, expect, it } from 'vitest';
import { registerConnectionString, registerSecret, resetSecretsForTesting, scrub } from '../../src/lib/mask.js';
import { splitMaskCommands } from '../support/in-process.js';

afterEach(() => resetSecretsForTesting());

/** The values passed to core.setSecret (written to stdout as ::add-mask:: commands). */
function maskedBy(register: () => void): string[] {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    register();
  } finally {
    process.stdout.write = write;
  }
  return splitMaskCommands(out).masked;
}

describe('registerSecret', () => {
  it('asks the runner to mask the value, once, and scrub() then hides it', () => {
    expect(maskedBy(() => registerSecret('s3cr3t-value'))).toEqual(['s3cr3t-value']);
    expect(maskedBy(() => registerSecret('s3cr3t-value'))).toEqual([]);
    expect(scrub('token=s3cr3t-value;')).toBe('token=***;');
  });

  it('ignores empty and too-short values rather than masking ordinary text', () => {
    expect(maskedBy(() => {
      registerSecret(undefined);
      registerSecret(null);
      registerSecret('');
      registerSecret('ab');
    })).toEqual([]);
    expect(scrub('ab ab')).toBe('ab ab');
  });

  it('masks a multi-line secret line by line, and its JSON-escaped form', () => {
    const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----';
    const masked = maskedBy(() => registerSecret(pem));
    expect(masked).toContain('MIIEvQIBADANBg');
    expect(scrub(`line: MIIEvQIBADANBg`)).toBe('line: ***');
    expect(scrub(JSON.stringify({ key: pem }))).toBe('{"key":"***"}');
  });

  it('replaces the longest secret first, so a secret containing another leaves no tail', () => {
    registerSecret('abc');
    registerSecret('abcdef');
    expect(scrub('abcdef abc')).toBe('*** ***');
  });

  it('returns text untouched when nothing is registered', () => {
    expect(scrub('nothing to hide')).toBe('nothing to hide');
    expect(scrub('')).toBe('');
  });
});

describe('registerConnectionString', () => {
  it('masks the whole string and each credential part', () => {
    const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
    const sas = 'sv=2022-11-02&ss=b&sig=abc%2Bdef';
    const connectionString = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};SharedAccessSignature=${sas}`;
    const masked = maskedBy(() => registerConnectionString(connectionString));
    expect(masked).toEqual(expect.arrayContaining([connectionString, key, sas]));
    // The account name is not a secret and stays readable.
    expect(scrub(`acct failed with key ${key}`)).toBe('acct failed with key ***');
    expect(scrub(`sas ${sas}`)).toBe('sas ***');
  });

  it('does nothing with an empty string', () => {
    expect(maskedBy(() => registerConnectionString(''))).toEqual([]);
  });
});
