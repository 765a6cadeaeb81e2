// Latency sparkline as inline SVG (no chart library). The picture is decorative for screen
// readers: the same information is given as text in the label (min / median / max, failures).
import type { Sample } from '@/lib/status/history';
import { formatLatency } from '@/lib/format';
import styles from './status.module.css';

const W = 240;
const H = 48;
const PAD = 4;

export function summarize(samples: Sample[]): string {
  const lat = samples.map((s) => s[1]).filter((v): v is number => v !== null).sort((a, b) => a - b);
  const failures = samples.filter((s) => s[2] !== 'healthy').length;
  if (samples.length === 0) return 'No history yet.';
  const parts = [`${samples.length} check${samples.length === 1 ? '' : 's'}`];
  if (lat.length > 0) {
    const median = lat[Math.floor((lat.length - 1) / 2)]!;
    parts.push(`latency min ${formatLatency(lat[0])}, median ${formatLatency(median)}, max ${formatLatency(lat[lat.length - 1])}`);
  } else {
    parts.push('no latency measured');
  }
  parts.push(failures === 0 ? 'no problems' : `${failures} with problems`);
  return parts.join('; ') + '.';
}

/** Start of the drawn time axis: the window, or the first sample when the history is younger. */
export function axisStart(samples: Sample[], windowMs: number, now: number): number {
  const first = samples[0]?.[0];
  return first !== undefined && first > now - windowMs ? Math.min(first, now - 30_000) : now - windowMs;
}

export function Sparkline({ samples, windowMs, now }: { samples: Sample[]; windowMs: number; now: number }) {
  const start = axisStart(samples, windowMs, now);
  const span = Math.max(1, now - start);
  const max = Math.max(1, ...samples.map((s) => s[1] ?? 0));
  const x = (t: number) => PAD + ((Math.min(Math.max(t, start), now) - start) / span) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - (v / max) * (H - 2 * PAD);

  // Consecutive samples with a latency form one line; a sample without one (no call was made,
  // e.g. circuit open) breaks it, so a gap is visible instead of a misleading straight line.
  const segments: string[] = [];
  let current: string[] = [];
  for (const s of samples) {
    if (s[1] === null) {
      if (current.length) segments.push(current.join(' '));
      current = [];
    } else {
      current.push(`${x(s[0]).toFixed(1)},${y(s[1]).toFixed(1)}`);
    }
  }
  if (current.length) segments.push(current.join(' '));
  const problems = samples.filter((s) => s[2] !== 'healthy');

  return (
    <svg className={styles.spark} viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" aria-hidden="true" focusable="false">
      <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} className={styles.sparkAxis} />
      {segments.map((points, i) =>
        points.includes(' ') ? (
          <polyline key={i} points={points} className={styles.sparkLine} />
        ) : (
          <circle key={i} cx={points.split(',')[0]} cy={points.split(',')[1]} r={1.8} className={styles.sparkDot} />
        ),
      )}
      {problems.map((s, i) => (
        <rect key={`p${i}`} x={x(s[0]) - 1.5} y={PAD - 2} width={3} height={6} className={s[2] === 'unhealthy' ? styles.sparkBad : styles.sparkWarn} />
      ))}
    </svg>
  );
}
