// The breaker as the admin API returns it (GET /api/admin/redis/circuit): state, rolling-window
// stats, settings, and this process's recent resets. Server-rendered; only reached with a session.
import type { CircuitSnapshot, CircuitState } from '@/lib/redis/breaker';
import type { CircuitResetEntry } from '@/lib/admin/audit';
import { formatClock } from '@/lib/format';
import styles from './admin.module.css';

const STATE_TEXT: Record<CircuitState, { word: string; glyph: string; meaning: string; tone: string }> = {
  closed: { word: 'Closed', glyph: '✓', meaning: 'Redis calls flow normally.', tone: styles.ok! },
  'half-open': { word: 'Half-open', glyph: '…', meaning: 'One trial call decides whether it closes again.', tone: styles.warn! },
  open: { word: 'Open', glyph: '✕', meaning: 'Redis calls are skipped: reads are cache misses, writes are dropped.', tone: styles.bad! },
};

const ms = (v: number | null) => (v === null ? '—' : `${v} ms`);

export function CircuitPanel({ snapshot, resets, slot, actions }: { snapshot: CircuitSnapshot; resets: CircuitResetEntry[]; slot: string | null; actions?: React.ReactNode }) {
  const t = STATE_TEXT[snapshot.state];
  const { stats, settings } = snapshot;
  return (
    <>
      <section aria-labelledby="circuit-heading" className={styles.panel}>
        <h2 id="circuit-heading">Redis circuit breaker</h2>
        <p className={styles.muted}>
          This is the breaker of the server process that answered this page{slot ? ` (slot ${slot})` : ''}. Behind nginx each slot has its own.
        </p>
        <div className={`${styles.state} ${t.tone}`} data-testid="circuit-state" data-state={snapshot.state}>
          <span className={styles.glyph} aria-hidden="true">
            {t.glyph}
          </span>
          <div>
            <p className={styles.stateWord}>{t.word}</p>
            <p>{t.meaning}</p>
          </div>
        </div>
        {actions}
        <dl className={styles.facts}>
          <div>
            <dt>Opened at</dt>
            <dd>{snapshot.openedAt ? formatClock(snapshot.openedAt) : '—'}</dd>
          </div>
          <div>
            <dt>Next trial call</dt>
            <dd>{snapshot.nextAttemptAt ? formatClock(snapshot.nextAttemptAt) : '—'}</dd>
          </div>
        </dl>

        <h3>Calls in the last {Math.round(settings.rollingCountTimeoutMs / 1000)} s</h3>
        <dl className={`${styles.facts} ${styles.stats}`} data-testid="circuit-stats">
          {(
            [
              ['Calls', stats.fires],
              ['Successes', stats.successes],
              ['Failures', stats.failures],
              ['Timeouts', stats.timeouts],
              ['Rejected', stats.rejects],
              ['Latency p50', ms(stats.latencyMs.p50)],
              ['Latency p95', ms(stats.latencyMs.p95)],
              ['Latency p99', ms(stats.latencyMs.p99)],
            ] as const
          ).map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>

        <details className={styles.settings}>
          <summary>Settings</summary>
          <dl className={styles.facts}>
            <div>
              <dt>Call timeout</dt>
              <dd>{settings.timeoutMs} ms</dd>
            </div>
            <div>
              <dt>Opens above</dt>
              <dd>{settings.errorThresholdPercentage}% errors</dd>
            </div>
            <div>
              <dt>After at least</dt>
              <dd>{settings.volumeThreshold} calls</dd>
            </div>
            <div>
              <dt>Trial call after</dt>
              <dd>{settings.resetTimeoutMs} ms</dd>
            </div>
            <div>
              <dt>Rolling window</dt>
              <dd>{settings.rollingCountTimeoutMs} ms</dd>
            </div>
          </dl>
        </details>
      </section>

      <section aria-labelledby="resets-heading" className={styles.panel}>
        <h2 id="resets-heading">Recent resets</h2>
        {resets.length === 0 ? (
          <p className={styles.muted} data-testid="no-resets">
            No resets since this process started.
          </p>
        ) : (
          <div className={styles.tableWrap}>
            <table className={styles.table} data-testid="resets">
              <caption className="visually-hidden">Circuit resets, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">By</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {resets.map((r, i) => (
                  <tr key={`${r.at}-${i}`}>
                    <td>
                      <time dateTime={r.at}>{formatClock(r.at)}</time>
                    </td>
                    <td>{r.caller === 'session' ? 'console' : r.caller === 'token' ? 'API token' : 'Supabase admin'}</td>
                    <td>{r.previousState}</td>
                    <td>{r.state}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
