'use client';
// The status page body. Rendered on the server for the first paint (works without JavaScript),
// then refreshed in place from GET /api/status-page, which reads the same cached health snapshot as
// /api/health/system: polling pages never multiply dependency calls.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { StatusSnapshot } from '@/lib/status/snapshot';
import type { CheckName, CheckResult, HealthStatus } from '@/lib/health/types';
import { formatAge, formatClock, formatLatency, formatUptime } from '@/lib/format';
import { COMPONENT_LABEL, COMPONENT_ROLE, STATUS_TEXT, UNUSED_TEXT } from './labels';
import { Sparkline, axisStart, summarize } from './sparkline';
import styles from './status.module.css';

type Fetched = { snapshot: StatusSnapshot; receivedAt: number };

function Badge({ status }: { status: HealthStatus | 'unused' }) {
  const t = status === 'unused' ? UNUSED_TEXT : STATUS_TEXT[status];
  return (
    <span className={`${styles.badge} ${styles[status]}`} data-testid="status-badge">
      <span className={styles.badgeGlyph} aria-hidden="true">
        {t.glyph}
      </span>
      {t.word}
    </span>
  );
}

function ComponentCard({ check, snapshot, now }: { check: CheckResult; snapshot: StatusSnapshot; now: number }) {
  const shown = snapshot.health.unused?.includes(check.name) ? 'unused' : check.status;
  const label = COMPONENT_LABEL[check.name] ?? check.name;
  const samples = snapshot.history[check.name] ?? [];
  const headingId = `component-${check.name}`;
  const minutes = Math.round(snapshot.historyWindowMs / 60_000);
  const start = axisStart(samples, snapshot.historyWindowMs, now);
  const period = now - start >= snapshot.historyWindowMs ? `Last ${minutes} min` : `Since ${formatClock(new Date(start).toISOString())}`;
  return (
    <li>
      <article className={styles.card} aria-labelledby={headingId} data-component={check.name} data-status={shown}>
        <div className={styles.cardHead}>
          <h3 id={headingId}>{label}</h3>
          <Badge status={shown} />
        </div>
        <p className={styles.role}>{shown === 'unused' ? UNUSED_TEXT.role : COMPONENT_ROLE[check.name as CheckName]}</p>
        <dl className={styles.facts}>
          <dt>Latency</dt>
          <dd>{formatLatency(check.latency)}</dd>
          <dt>Problem</dt>
          <dd className={check.error ? styles.error : undefined}>{check.error ?? 'none'}</dd>
        </dl>
        <figure className={styles.history}>
          <Sparkline samples={samples} windowMs={snapshot.historyWindowMs} now={now} />
          <figcaption>
            {period}: {summarize(samples)}
          </figcaption>
        </figure>
      </article>
    </li>
  );
}

export function StatusBoard({ initial }: { initial: StatusSnapshot }) {
  const [data, setData] = useState<Fetched>({ snapshot: initial, receivedAt: Date.parse(initial.health.timestamp) });
  const [failedAt, setFailedAt] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // null until mounted: relative ages differ between server and browser, so they appear only
  // after hydration (the absolute UTC time is rendered by both).
  const [now, setNow] = useState<number | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const refresh = useCallback(async (manual = false) => {
    if (manual) setBusy(true);
    try {
      const res = await fetch('/api/status-page', { cache: 'no-store', signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const snapshot = (await res.json()) as StatusSnapshot;
      setData({ snapshot, receivedAt: Date.now() });
      setFailedAt(null);
    } catch {
      setFailedAt(new Date().toISOString());
    } finally {
      setBusy(false);
      setNow(Date.now());
    }
  }, []);

  const refreshMs = data.snapshot.refreshMs;
  useEffect(() => {
    const first = setTimeout(() => setNow(Date.now()), 0);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearTimeout(first);
      clearInterval(tick);
    };
  }, []);

  // One refresh every refreshMs while the tab is visible; a hidden tab stops asking and catches
  // up as soon as it is shown again.
  useEffect(() => {
    const schedule = () => {
      clearTimeout(timer.current);
      timer.current = setTimeout(async () => {
        if (document.visibilityState === 'visible') await refresh();
        schedule();
      }, refreshMs);
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible') void refresh().then(schedule);
    };
    schedule();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearTimeout(timer.current);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [refresh, refreshMs]);

  const { health } = data.snapshot;
  const overall = STATUS_TEXT[health.status];
  const sparkNow = now ?? data.receivedAt;

  return (
    <>
      <div className={styles.refresh}>
        <span>
          Updates every {Math.round(refreshMs / 1000)} s
          {now !== null ? ` · last checked ${formatAge(health.timestamp, now)}` : ''}
        </span>
        <button type="button" className={styles.button} onClick={() => void refresh(true)} disabled={busy}>
          {busy ? 'Refreshing…' : 'Refresh now'}
        </button>
        <noscript>Reload the page to update.</noscript>
      </div>

      {failedAt && (
        <p className={styles.stale} role="alert">
          Could not reach the server at {formatClock(failedAt)}; showing the last known state from {formatClock(health.timestamp)}.
        </p>
      )}

      <section aria-labelledby="overall-heading">
        <h2 id="overall-heading" className="visually-hidden">
          Overall status
        </h2>
        <div className={`${styles.banner} ${styles[health.status]}`} role="status" aria-live="polite" data-testid="overall" data-status={health.status}>
          <span className={styles.glyph} aria-hidden="true">
            {overall.glyph}
          </span>
          <div>
            <p className={styles.bannerWord}>{overall.word}</p>
            <p>{overall.headline}</p>
          </div>
        </div>
      </section>

      <section aria-labelledby="components-heading">
        <h2 id="components-heading" className={styles.sectionTitle}>
          Components
        </h2>
        <ul className={styles.components}>
          {health.checks.map((check) => (
            <ComponentCard key={check.name} check={check} snapshot={data.snapshot} now={sparkNow} />
          ))}
        </ul>
      </section>

      <section className={styles.meta} aria-labelledby="deployment-heading">
        <h2 id="deployment-heading">This server</h2>
        <dl className={styles.metaGrid}>
          <div>
            <dt>Last checked</dt>
            <dd>
              <time dateTime={health.timestamp} data-testid="last-checked">
                {formatClock(health.timestamp)}
              </time>
            </dd>
          </div>
          <div>
            <dt>Uptime</dt>
            <dd>{formatUptime(health.uptime)}</dd>
          </div>
          <div>
            <dt>Version</dt>
            <dd>{health.version}</dd>
          </div>
          <div>
            <dt>Deployment slot</dt>
            <dd>{health.slot ?? 'not set'}</dd>
          </div>
        </dl>
      </section>
    </>
  );
}
