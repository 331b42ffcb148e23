import * as core from '@actions/core';
import { inlineCode, markdownTable } from '../lib/markdown.js';

/**
 * What happened to each piece of the remote state, in order: the job summary table, the log lines,
 * and — when a run fails halfway — the list of what already exists.
 */
export type Outcome = 'created' | 'unchanged' | 'fixed' | 'drifted' | 'written';

export interface ReportRow {
  resource: string;
  name: string;
  outcome: Outcome;
  details: string;
}

/** Outcomes that changed something in Azure (the backend file is local and rewritten on every checkout). */
const AZURE_CHANGES: ReadonlySet<Outcome> = new Set(['created', 'fixed']);

export class Report {
  readonly rows: ReportRow[] = [];

  add(resource: string, name: string, outcome: Outcome, details = ''): void {
    this.rows.push({ resource, name, outcome, details });
    const line = `${resource} ${name}: ${outcome}${details ? ` — ${details}` : ''}`;
    if (outcome === 'drifted') core.warning(`${line}. Set enforce-settings: true to fix it.`);
    else core.info(line);
  }

  /** Whether this run created or fixed anything in Azure. */
  get changedAzure(): boolean {
    return this.rows.some((row) => row.resource !== BACKEND_FILE && AZURE_CHANGES.has(row.outcome));
  }

  get drifted(): ReportRow[] {
    return this.rows.filter((row) => row.outcome === 'drifted');
  }

  /** One line on what the run did overall. */
  headline(readOnly: boolean): string {
    const drift = this.drifted.length ? ` ${this.drifted.length} setting group(s) drifted; enforce-settings: true fixes them.` : '';
    if (readOnly) return `Verified (read-only): the remote state exists.${drift}`;
    if (!this.changedAzure) return `Nothing changed: the remote state was already in place.${drift}`;
    const created = this.rows.filter((row) => row.resource !== BACKEND_FILE && row.outcome === 'created').length;
    const fixed = this.rows.filter((row) => row.outcome === 'fixed').length;
    return `Remote state ready: ${created} created, ${fixed} fixed.${drift}`;
  }

  /** What exists already, for the message of a run that failed halfway. */
  inPlace(): string[] {
    return this.rows.filter((row) => row.resource !== BACKEND_FILE).map((row) => `${row.resource} ${row.name} (${row.outcome})`);
  }

  markdown(title: string, readOnly: boolean): string {
    const table = markdownTable(
      ['Resource', 'Name', 'Result', 'Details'],
      this.rows.map((row) => [row.resource, inlineCode(row.name), row.outcome, row.details]),
    );
    return `### ${title}\n\n${this.headline(readOnly)}\n\n${table}\n`;
  }
}

export const BACKEND_FILE = 'Backend config';
