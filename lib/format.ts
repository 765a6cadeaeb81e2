// Display formatting of times, durations and latencies, shared by the status page and the admin
// console, on the server and in the browser. Deterministic (UTC, no locale), so the server's HTML
// and the browser's first render agree.

export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  // Latencies are whole milliseconds; 0 means "under one".
  return ms < 1 ? '<1 ms' : `${Math.round(ms)} ms`;
}

export function formatUptime(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d} d ${h} h ${m} min`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

/** "14:03:27 UTC" */
export function formatClock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(11, 19)} UTC`;
}

export function formatAge(fromIso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(fromIso)) / 1000));
  if (s < 2) return 'just now';
  if (s < 120) return `${s} s ago`;
  return `${Math.round(s / 60)} min ago`;
}
