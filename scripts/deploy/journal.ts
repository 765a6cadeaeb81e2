// The record of one deploy or rollback as it runs: every phase with its duration and outcome,
// warnings, measured numbers, the final outcome. runDeploy appends it to history.jsonl at the end
// (refusals too: who tried what is part of the audit trail).
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { HistoryRecord, Outcome, PhaseRecord } from './state.ts';
import { EXIT, type Logger } from './types.ts';

export interface DeployResult {
  exitCode: number;
  record: HistoryRecord;
}

export interface JournalStart {
  kind: HistoryRecord['kind'];
  runtime: string;
  flags: HistoryRecord['flags'];
}

export class Journal {
  readonly record: HistoryRecord;
  private readonly log: Logger;

  constructor(start: JournalStart, log: Logger) {
    this.log = log;
    this.record = {
      id: randomUUID(),
      kind: start.kind,
      user: process.env.SUDO_USER ?? userInfo().username,
      host: hostname(),
      startedAt: new Date().toISOString(),
      finishedAt: '',
      from: null,
      target: null,
      version: null,
      runtime: start.runtime,
      flags: start.flags,
      phases: [],
      outcome: 'failed',
      exitCode: EXIT.failed,
      warnings: [],
      metrics: {},
    };
  }

  /** Logged as a warning and kept in the record (the summary repeats it). */
  warn(message: string): void {
    this.record.warnings.push(message);
    this.log.warn(message);
  }

  /** Runs one named phase, timing it; `detail` describes its result in the summary. */
  async phase<T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
    const t = performance.now();
    const entry: PhaseRecord = { name, ms: 0, ok: false };
    this.record.phases.push(entry);
    this.log.info(`[${name}] ...`);
    try {
      const r = await fn();
      entry.ok = true;
      if (detail) entry.detail = detail(r);
      return r;
    } finally {
      entry.ms = Math.round(performance.now() - t);
    }
  }

  finish(outcome: Outcome, exitCode: number, error?: string): DeployResult {
    this.record.outcome = outcome;
    this.record.exitCode = exitCode;
    if (error) this.record.error = error;
    return { exitCode, record: this.record };
  }

  close(): HistoryRecord {
    this.record.finishedAt = new Date().toISOString();
    return this.record;
  }
}
