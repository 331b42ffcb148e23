import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One self-signed certificate for every HTTPS stand-in (ARM, Entra ID, Kubernetes): made once
    // here, trusted by the test workers and the child processes through NODE_EXTRA_CA_CERTS.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/vitest-results.json' },
  },
});
