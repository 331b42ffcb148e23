import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import {
  analysePlan,
  countPlan,
  formatPlanLine,
  renderPlanFailureMarkdown,
  renderPlanMarkdown,
  DEFAULT_MAX_LENGTH,
  GITHUB_COMMENT_LIMIT,
  type PlanCounts,
} from '../../src/lib/plan-summary.js';
import { loadFixture, planWith, resourceChange, textPlanOfSize } from './plans.js';

const zero: PlanCounts = { add: 0, change: 0, destroy: 0, replace: 0, import: 0, move: 0, forget: 0 };
const where = { environment: 'dev', workingDirectory: 'terraform/stacks/bakery' };

/** GitHub renders comments as CommonMark + GFM with inline HTML; markdown-it with html on is the closest. */
const markdown = new MarkdownIt({ html: true });

describe('counting follows Terraform\'s Plan: line', () => {
  it('counts each kind of change the fixtures do not have', () => {
    const plan = planWith([
      // Data sources count nothing, whether read or (as Terraform plans it) deleted.
      resourceChange('data.azurerm_client_config.current', ['read'], { mode: 'data' }),
      resourceChange('data.azurerm_subscription.gone', ['delete'], { mode: 'data' }),
      // Import only: 1 to import.
      resourceChange('azurerm_resource_group.main', ['no-op'], {}, { importing: { id: '/subscriptions/0000/resourceGroups/rg-bakery' } }),
      // Import and update: 1 to import, 1 to change.
      resourceChange('azurerm_storage_account.flows', ['update'], {}, { importing: { id: '/subscriptions/0000/storageAccounts/flows' } }),
      // Create before destroy: 1 to add, 1 to destroy, 1 replacement.
      resourceChange('azurerm_kubernetes_cluster_node_pool.dask', ['create', 'delete'], { action_reason: 'replace_because_tainted' }, { replace_paths: undefined }),
      // A deposed object left by a failed replacement: 1 to destroy.
      resourceChange('azurerm_kubernetes_cluster_node_pool.dask', ['delete'], { deposed: '00000001' }),
      // `removed { lifecycle { destroy = false } }`: 1 to forget.
      resourceChange('azurerm_log_analytics_workspace.old', ['forget']),
      // Replaced while the old object is kept: 1 to add, 1 to forget, not a replacement that destroys.
      resourceChange('azurerm_container_registry.acr', ['create', 'forget']),
      // Moved and updated; moved only.
      resourceChange('azurerm_role_assignment.worker', ['update'], { previous_address: 'azurerm_role_assignment.agent' }),
      resourceChange('azurerm_user_assigned_identity.worker', ['no-op'], { previous_address: 'azurerm_user_assigned_identity.agent' }),
      // previous_address equal to the address is not a move.
      resourceChange('azurerm_resource_group.same', ['no-op'], { previous_address: 'azurerm_resource_group.same' }),
    ]);
    const expected: PlanCounts = { add: 2, change: 2, destroy: 2, replace: 1, import: 2, move: 2, forget: 2 };
    expect(countPlan(plan)).toEqual(expected);

    const report = analysePlan(plan);
    expect(report.counts).toEqual(expected);
    const addresses = (group: keyof typeof report.resources) => report.resources[group].map((entry) => entry.address);
    expect(addresses('read')).toEqual(['data.azurerm_client_config.current']);
    expect(addresses('import')).toEqual(['azurerm_resource_group.main']);
    expect(addresses('update')).toEqual(['azurerm_storage_account.flows', 'azurerm_role_assignment.worker']);
    expect(addresses('replace')).toEqual(['azurerm_kubernetes_cluster_node_pool.dask']);
    expect(addresses('delete')).toEqual(['azurerm_kubernetes_cluster_node_pool.dask']);
    expect(addresses('forget')).toEqual(['azurerm_log_analytics_workspace.old', 'azurerm_container_registry.acr']);
    expect(addresses('move')).toEqual(['azurerm_user_assigned_identity.worker']);
    expect(addresses('create')).toEqual([]);

    const body = renderPlanMarkdown(report, where);
    expect(body).toContain('**Plan: 2 to import, 2 to add, 2 to change, 2 to destroy, 2 to forget.**');
    expect(body).toContain('| 2 | 2 | 2 | 1 | 2 | 2 | 2 |');
    expect(body).toContain('- `azurerm_kubernetes_cluster_node_pool.dask` — tainted; new object created first');
    expect(body).toContain('- `azurerm_kubernetes_cluster_node_pool.dask` — deposed object `00000001`, left over from a failed replacement');
    // `id` becomes known only after apply (requires-replace.json's after_unknown), so it changes too.
    expect(body).toContain('- `azurerm_storage_account.flows` — `ami`, `id`; imported from `/subscriptions/0000/storageAccounts/flows`');
    expect(body).toContain('- `azurerm_role_assignment.worker` — `ami`, `id`; moved from `azurerm_role_assignment.agent`');
    expect(body).toContain('- `azurerm_container_registry.acr` — replaced; the old object is kept, not destroyed');
    expect(body).toContain('> [!WARNING]\n> 2 resources will no longer be managed by Terraform');
  });

  it('writes the Plan: line word for word as Terraform does', () => {
    expect(formatPlanLine(zero)).toBe('Plan: 0 to add, 0 to change, 0 to destroy.');
    expect(formatPlanLine({ ...zero, add: 3, change: 1, destroy: 2, replace: 1, move: 4 })).toBe('Plan: 3 to add, 1 to change, 2 to destroy.');
    expect(formatPlanLine({ ...zero, import: 1, add: 1 })).toBe('Plan: 1 to import, 1 to add, 0 to change, 0 to destroy.');
    expect(formatPlanLine({ ...zero, forget: 2 })).toBe('Plan: 0 to add, 0 to change, 0 to destroy, 2 to forget.');
    expect(formatPlanLine({ ...zero, import: 1, forget: 1 })).toBe('Plan: 1 to import, 0 to add, 0 to change, 0 to destroy, 1 to forget.');
  });
});

describe('sensitive values', () => {
  it('masks sensitive parts of output values at any depth and whole sensitive outputs', () => {
    const plan = planWith([], {
      output_changes: {
        admin: {
          actions: ['update'],
          before: { user: 'admin', password: 'old-pass-7781', nested: { keys: ['pub-1', 'priv-key-0042'] } },
          after: { user: 'admin', password: 'new-pass-9923', nested: { keys: ['pub-1', 'priv-key-0043'] } },
          before_sensitive: { password: true, nested: { keys: [false, true] } },
          after_sensitive: { password: true, nested: { keys: [false, true] } },
          after_unknown: false,
        },
        connection: { actions: ['create'], before: null, after: 'Server=tcp:db;Password=conn-secret-55', after_unknown: false, before_sensitive: false, after_sensitive: true },
        removed: { actions: ['delete'], before: 'whole-secret-31', after: null, after_unknown: false, before_sensitive: true, after_sensitive: false },
      },
    });
    const body = renderPlanMarkdown(analysePlan(plan), where);
    for (const secret of ['old-pass-7781', 'new-pass-9923', 'priv-key-0042', 'priv-key-0043', 'conn-secret-55', 'whole-secret-31']) {
      expect(body).not.toContain(secret);
    }
    expect(body).toContain('- `admin`: `{"user": "admin", "password": (sensitive), "nested": {"keys": ["pub-1", (sensitive)]}}` → `{"user": "admin", "password": (sensitive), "nested": {"keys": ["pub-1", (sensitive)]}}`');
    expect(body).toContain('- `connection` (new): _(sensitive)_');
    expect(body).toContain('- `removed` (removed): was _(sensitive)_');
  });

  it('never prints resource attribute values, only the names of changed attributes', () => {
    const plan = planWith([
      resourceChange('azurerm_postgresql_flexible_server.metaflow', ['update'], {}, {
        before: { administrator_password: 'pg-old-secret', sku_name: 'B_Standard_B1ms', tags: { owner: 'data' } },
        after: { administrator_password: 'pg-new-secret', sku_name: 'GP_Standard_D2s_v3', tags: { owner: 'data' } },
        before_sensitive: { administrator_password: true },
        after_sensitive: { administrator_password: true },
        after_unknown: {},
      }),
    ]);
    const body = renderPlanMarkdown(analysePlan(plan), where);
    expect(body).not.toContain('pg-old-secret');
    expect(body).not.toContain('pg-new-secret');
    expect(body).not.toContain('GP_Standard_D2s_v3');
    expect(body).toContain('- `azurerm_postgresql_flexible_server.metaflow` — `administrator_password`, `sku_name`');
  });
});

describe('secretValues', () => {
  const secret = 'tok-4f1e9c-secret';
  const multiLine = 'first-line-of-key\nsecond-line-of-key';
  const plan = planWith(
    [
      resourceChange(`azurerm_key_vault_secret.s["${secret}"]`, ['create']),
      resourceChange('azurerm_storage_account.flows', ['no-op'], {}, { importing: { id: `/x/${secret}/y` } }),
    ],
    {
      output_changes: { token: { actions: ['create'], before: null, after: `Bearer ${secret}`, after_unknown: false, before_sensitive: false, after_sensitive: false } },
      checks: [{ address: { kind: 'resource', to_display: 'azurerm_key_vault.kv' }, status: 'fail', instances: [{ address: { to_display: 'azurerm_key_vault.kv' }, status: 'fail', problems: [{ message: `bad value ${secret}` }] }] }],
    },
  );
  const textPlan = textPlanOfSize(2_000, [`      + value = "${secret}"`, '      + pem = <<-EOT', '            first-line-of-key', '            second-line-of-key', '        EOT']);

  it('are scrubbed from addresses, outputs, checks, the text plan, the error text and the options', () => {
    const options = {
      ...where,
      label: `label-${secret}`,
      textPlan,
      errorText: `Error: something about ${secret}`,
      fullPlanLocation: `https://example.test/${secret}`,
      secretValues: [secret, multiLine],
    };
    const body = renderPlanMarkdown(analysePlan(plan), options);
    expect(body).not.toContain(secret);
    expect(body).not.toContain('first-line-of-key');
    expect(body).not.toContain('second-line-of-key');
    expect(body).toContain('azurerm_key_vault_secret.s["***"]');
    expect(body).toContain('`"Bearer ***"`');
    expect(body).toContain('+       value = "***"');
  });

  it('are scrubbed by the extra scrub function as well (registered secrets)', () => {
    const body = renderPlanMarkdown(analysePlan(plan), { ...where, textPlan, scrub: (text) => text.split(secret).join('[masked]') });
    expect(body).not.toContain(secret);
    expect(body).toContain('azurerm_key_vault_secret.s["[masked]"]');
  });

  it('a failed plan\'s error output is scrubbed too', () => {
    const body = renderPlanFailureMarkdown(`Error: building AzureRM Client: client secret ${secret} was rejected`, { ...where, secretValues: [secret] });
    expect(body).not.toContain(secret);
    expect(body).toContain('client secret *** was rejected');
  });
});

describe('the GitHub comment limit', () => {
  const fiveMegabytes = textPlanOfSize(5 * 1024 * 1024);
  const plan = planWith([
    resourceChange('azurerm_kubernetes_cluster.bakery', ['delete', 'create']),
    resourceChange('azurerm_storage_container.flows[0]', ['create']),
  ]);
  const report = analysePlan(plan);

  it('a 5 MB text plan gives a body under the limit with the summary intact', () => {
    expect(fiveMegabytes.length).toBeGreaterThan(5 * 1024 * 1024);
    const withoutText = renderPlanMarkdown(report, where);
    const started = performance.now();
    const body = renderPlanMarkdown(report, { ...where, textPlan: fiveMegabytes, fullPlanLocation: 'https://github.com/o/r/actions/runs/1' });
    expect(performance.now() - started).toBeLessThan(1_000);

    expect(body.length).toBeLessThanOrEqual(DEFAULT_MAX_LENGTH);
    expect(body.length).toBeGreaterThan(DEFAULT_MAX_LENGTH - 2_000);
    // The summary is there in full, before the text plan.
    const summary = withoutText.trimEnd();
    expect(body.startsWith(summary)).toBe(true);
    expect(body).toContain('**Plan: 2 to add, 0 to change, 1 to destroy.**');
    expect(body).toContain('`azurerm_kubernetes_cluster.bakery`');
    // It says the text was shortened and where the rest is.
    const totalLines = fiveMegabytes.trimEnd().split('\n').length;
    expect(body).toMatch(new RegExp(`showing \\d+ of ${totalLines} lines; the full plan is in <https://github.com/o/r/actions/runs/1>`));
    // The diff block is well formed: one fence, closed, holding whole translated lines from the start.
    const fences = markdown.parse(body, {}).filter((token) => token.type === 'fence');
    expect(fences.map((token) => token.info)).toEqual(['diff']);
    const shown = fences[0]!.content.split('\n');
    expect(shown[0]).toBe('Terraform used the selected providers to generate the following execution');
    expect(shown).toContain('+   resource "azurerm_storage_container" "flows" {');
    expect(shown).toContain('+       container_access_type = "private"');
  });

  it('keeps within a smaller limit, and within bytes when told to count bytes', () => {
    const wide = textPlanOfSize(300_000).replace(/flows/g, 'flöws-😀');
    const byChars = renderPlanMarkdown(report, { ...where, textPlan: wide, maxLength: 10_000 });
    expect(byChars.length).toBeLessThanOrEqual(10_000);
    const byBytes = renderPlanMarkdown(report, { ...where, textPlan: wide, maxLength: 10_000, lengthUnit: 'bytes' });
    expect(Buffer.byteLength(byBytes, 'utf8')).toBeLessThanOrEqual(10_000);
    expect(Buffer.byteLength(byChars, 'utf8')).toBeGreaterThan(10_000);
  });

  it('stays under the limit when the text plan needs a long fence (a run of backticks inside)', () => {
    const backticks = '`'.repeat(60);
    const body = renderPlanMarkdown(report, { ...where, textPlan: textPlanOfSize(400_000, [`      + script = "${backticks}"`]) });
    expect(body.length).toBeLessThanOrEqual(DEFAULT_MAX_LENGTH);
    const fence = markdown.parse(body, {}).find((token) => token.type === 'fence')!;
    expect(fence.markup).toBe('`'.repeat(61));
    expect(fence.content).toContain(backticks);
  });

  it('a text plan that fits is shown whole, with no shortening notice', () => {
    const small = textPlanOfSize(3_000);
    const body = renderPlanMarkdown(report, { ...where, textPlan: small });
    expect(body).not.toContain('shortened');
    const fence = markdown.parse(body, {}).find((token) => token.type === 'fence')!;
    expect(fence.content.trimEnd().split('\n')).toHaveLength(small.trimEnd().split('\n').length);
  });

  it('for a plan too large for any comment, keeps destructive resources listed first and says what is left out', () => {
    const changes = [
      ...Array.from({ length: 20 }, (_, i) => resourceChange(`azurerm_storage_account.old[${i}]`, ['delete'])),
      ...Array.from({ length: 5_000 }, (_, i) => resourceChange(`azurerm_storage_container.flows_with_a_long_name_for_size[${i}]`, ['create'])),
    ];
    const large = analysePlan(planWith(changes));
    const body = renderPlanMarkdown(large, { ...where, textPlan: textPlanOfSize(100_000), fullPlanLocation: 'the job summary' });
    expect(body.length).toBeLessThanOrEqual(DEFAULT_MAX_LENGTH);
    expect(body).toContain('**Plan: 5000 to add, 0 to change, 20 to destroy.**');
    for (let i = 0; i < 20; i++) expect(body).toContain(`\`azurerm_storage_account.old[${i}]\``);
    expect(body).toContain('<summary>🟢 Create (5000)</summary>');
    expect(body).toMatch(/- _… and \d+ more not listed here: this plan is too large for one comment\._/);
    expect(body).toContain('Some resources are not listed, to fit GitHub\'s limit; the full plan is in the job summary.');
    expect(body).toContain('does not fit in this comment');

    // Without a text plan, the lists take the room, and the note saying they were cut still fits.
    const withoutText = renderPlanMarkdown(large, { ...where, maxLength: 8_000, fullPlanLocation: 'the job summary' });
    expect(withoutText.length).toBeLessThanOrEqual(8_000);
    expect(withoutText.length).toBeGreaterThan(7_800);
    expect(withoutText.trimEnd().endsWith('Some resources are not listed, to fit GitHub\'s limit; the full plan is in the job summary._')).toBe(true);
  });

  it('the default limit leaves room for the comment marker under GitHub\'s limit', () => {
    expect(GITHUB_COMMENT_LIMIT).toBe(65_536);
    expect(DEFAULT_MAX_LENGTH).toBeLessThan(GITHUB_COMMENT_LIMIT);
    expect(() => renderPlanMarkdown(report, { ...where, maxLength: 100 })).toThrow(RangeError);
  });
});

describe('markdown injection', () => {
  const nasty = 'x`y``z|w</details><details><summary>gotcha</summary>\n\n# heading @org/team';
  const plan = planWith(
    [
      resourceChange(`azurerm_storage_container.c["${nasty}"]`, ['delete']),
      resourceChange('azurerm_storage_container.d["a|b|c"]', ['create']),
      resourceChange('`leading.backtick`', ['create']),
    ],
    {
      output_changes: { 'out|put': { actions: ['create'], before: null, after: { v: '```\n</details>\n|a|b|' }, after_unknown: false, before_sensitive: false, after_sensitive: false } },
    },
  );
  const textPlan = textPlanOfSize(1_000, ['      + script = <<-EOT', '```', '````', '</details>', '<script>alert(1)</script>', '        EOT']);
  const body = renderPlanMarkdown(analysePlan(plan), { ...where, label: '</summary>|*bold*', textPlan, title: undefined });
  const tokens = markdown.parse(body, {});
  const html = markdown.render(body);

  it('cannot add or close HTML elements', () => {
    // Our own: two resource groups and the text plan, each one <details> … </details>.
    expect(html.match(/<details[ >]/g)).toHaveLength(3);
    expect(html.match(/<\/details>/g)).toHaveLength(3);
    expect(html.match(/<summary>/g)).toHaveLength(3);
    expect(html).not.toContain('<script>');
    expect(html).not.toMatch(/<h1>/);
  });

  it('keeps every address whole inside one code span', () => {
    const codeSpans = tokens.flatMap((token) => token.children ?? []).filter((token) => token.type === 'code_inline').map((token) => token.content);
    expect(codeSpans).toContain(`azurerm_storage_container.c["${nasty.replace('\n\n', '\\n\\n')}"]`);
    expect(codeSpans).toContain('azurerm_storage_container.d["a|b|c"]');
    expect(codeSpans).toContain('`leading.backtick`');
    expect(codeSpans).toContain('{"v": "```\\n</details>\\n|a|b|"}');
    expect(codeSpans).toContain('</summary>|*bold*');
  });

  it('keeps the counts table seven columns wide and the diff block closed', () => {
    const headerCells = tokens.filter((token) => token.type === 'th_open');
    const bodyCells = tokens.filter((token) => token.type === 'td_open');
    expect(headerCells).toHaveLength(7);
    expect(bodyCells).toHaveLength(7);
    const fences = tokens.filter((token) => token.type === 'fence');
    expect(fences).toHaveLength(1);
    expect(fences[0]!.info).toBe('diff');
    // Shown literally (a line starting with `<` gets a space, so the diff highlighter leaves it plain).
    expect(fences[0]!.content).toContain('\n```\n````\n </details>\n <script>alert(1)</script>\n');
    expect(fences[0]!.content.trimEnd().endsWith('Plan: 1 to add, 0 to change, 0 to destroy.')).toBe(true);
  });

  it('notifies no one through a title', () => {
    const titled = renderPlanMarkdown(analysePlan(plan), { ...where, title: 'Plan for @org/platform [link](https://x.test) <b>' });
    const heading = markdown.render(titled.split('\n')[0]!);
    expect(heading).not.toContain('<a ');
    expect(heading).not.toContain('<b>');
    expect(heading).toContain('@\u200borg/platform');
  });
});

describe('failed plans', () => {
  it('plan-error.json renders as a failed plan', () => {
    const body = renderPlanMarkdown(analysePlan(loadFixture('plan-error.json')), where);
    expect(body).toContain('### ❌ Terraform plan failed for `dev` in `terraform/stacks/bakery`');
    expect(body).toContain('**Planning failed.**');
    expect(body).not.toContain('**Plan:');
  });

  it('shows Terraform\'s error output as plain text, keeping its end when it is long', () => {
    const errorText = [
      '\u001b[31m╷\u001b[0m',
      'Error: Error acquiring the state lock',
      ...Array.from({ length: 40_000 }, (_, i) => `  refresh line ${i}`),
      'Error: Unsupported argument on main.tf line 12',
    ].join('\n');
    const body = renderPlanFailureMarkdown(errorText, { ...where, fullPlanLocation: 'https://github.com/o/r/actions/runs/2' });
    expect(body.length).toBeLessThanOrEqual(DEFAULT_MAX_LENGTH);
    const fence = markdown.parse(body, {}).find((token) => token.type === 'fence')!;
    expect(fence.info).toBe('text');
    expect(fence.content).toContain('Error: Error acquiring the state lock');
    expect(fence.content.trimEnd().endsWith('Error: Unsupported argument on main.tf line 12')).toBe(true);
    expect(fence.content).toMatch(/… \(\d+ characters left out\) …/);
    expect(fence.content).not.toContain('\u001b');
    expect(body).toContain('the full plan is in <https://github.com/o/r/actions/runs/2>');
  });
});
