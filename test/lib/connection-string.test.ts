import { describe, expect, it } from 'vitest';
import { accountNameOfBlobEndpoint, parseConnectionString } from '../../src/lib/connection-string.js';

describe('parseConnectionString', () => {
  it('an account key string: the account and the endpoint its suffix makes', () => {
    expect(parseConnectionString('DefaultEndpointsProtocol=https;AccountName=MyAcct;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net')).toEqual({
      accountName: 'myacct',
      blobEndpoint: 'https://myacct.blob.core.usgovcloudapi.net',
    });
    expect(parseConnectionString('AccountName=acct;AccountKey=a2V5').blobEndpoint).toBe('https://acct.blob.core.windows.net');
  });

  it('an explicit BlobEndpoint wins (Azurite, private endpoints)', () => {
    expect(parseConnectionString('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;')).toEqual({
      accountName: 'devstoreaccount1',
      blobEndpoint: 'http://127.0.0.1:10000/devstoreaccount1',
    });
  });

  it('a SAS string: the account from the endpoint', () => {
    expect(parseConnectionString('BlobEndpoint=https://sasacct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=x')).toEqual({
      accountName: 'sasacct',
      blobEndpoint: 'https://sasacct.blob.core.windows.net/',
    });
  });

  it('keys are case-insensitive and never returned', () => {
    const parsed = parseConnectionString('accountname=acct;accountkey=c2VjcmV0');
    expect(parsed.accountName).toBe('acct');
    expect(JSON.stringify(parsed)).not.toContain('c2VjcmV0');
  });

  it('nothing to go on: no account', () => {
    expect(parseConnectionString('SharedAccessSignature=sv=1')).toEqual({ accountName: undefined, blobEndpoint: undefined });
  });
});

describe('accountNameOfBlobEndpoint', () => {
  it.each([
    ['https://acct.blob.core.windows.net/', 'acct'],
    ['https://acct.blob.core.chinacloudapi.cn', 'acct'],
    ['http://127.0.0.1:10000/devstoreaccount1', 'devstoreaccount1'],
    ['https://localhost:10000/devstoreaccount1/', 'devstoreaccount1'],
    ['not a url', undefined],
    ['https://example.com/', undefined],
  ])('%s → %s', (endpoint, expected) => {
    expect(accountNameOfBlobEndpoint(endpoint)).toBe(expected);
  });
});
