import { describe, expect, it } from 'vitest';
import { STATUS_TEXT } from '@/app/status/labels';
import { formatAge, formatClock, formatLatency, formatUptime } from '@/lib/format';
import { axisStart, summarize } from '@/app/status/sparkline';
import type { Sample } from '@/lib/status/history';

describe('status page formatting', () => {
  it('says every status in words and with a symbol, not by colour alone', () => {
    for (const s of ['healthy', 'degraded', 'unhealthy'] as const) {
      expect(STATUS_TEXT[s].word).toMatch(/^[A-Z][a-z]+$/);
      expect(STATUS_TEXT[s].glyph).not.toBe('');
      expect(STATUS_TEXT[s].headline.length).toBeGreaterThan(10);
    }
    expect(new Set(Object.values(STATUS_TEXT).map((t) => t.glyph)).size).toBe(3);
  });

  it('formats latency, uptime, clock and age deterministically', () => {
    expect(formatLatency(undefined)).toBe('—');
    expect(formatLatency(null)).toBe('—');
    expect(formatLatency(0)).toBe('<1 ms');
    expect(formatLatency(12)).toBe('12 ms');
    expect(formatUptime(999)).toBe('0 s');
    expect(formatUptime(61_000)).toBe('1 min 1 s');
    expect(formatUptime((3600 + 120) * 1000)).toBe('1 h 2 min');
    expect(formatUptime((2 * 86_400 + 3 * 3600 + 4 * 60) * 1000)).toBe('2 d 3 h 4 min');
    expect(formatClock('2026-11-26T10:27:46.101Z')).toBe('10:27:46 UTC');
    const t = Date.parse('2026-11-26T10:27:46Z');
    expect(formatAge('2026-11-26T10:27:46Z', t + 500)).toBe('just now');
    expect(formatAge('2026-11-26T10:27:46Z', t + 30_000)).toBe('30 s ago');
    expect(formatAge('2026-11-26T10:27:46Z', t + 300_000)).toBe('5 min ago');
  });

  it('summarizes a history as text (what screen readers get instead of the sparkline)', () => {
    expect(summarize([])).toBe('No history yet.');
    const samples: Sample[] = [
      [1, 4, 'healthy'],
      [2, 0, 'healthy'],
      [3, null, 'degraded'],
      [4, 9, 'healthy'],
    ];
    expect(summarize(samples)).toBe('4 checks; latency min <1 ms, median 4 ms, max 9 ms; 1 with problems.');
    expect(summarize([[1, null, 'degraded']])).toBe('1 check; no latency measured; 1 with problems.');
  });

  it('draws young histories across the full width, older ones over the window', () => {
    const now = 1_000_000;
    expect(axisStart([], 600_000, now)).toBe(now - 600_000);
    expect(axisStart([[now - 100_000, 1, 'healthy']], 600_000, now)).toBe(now - 100_000);
    expect(axisStart([[now - 5_000, 1, 'healthy']], 600_000, now)).toBe(now - 30_000);
    expect(axisStart([[now - 700_000, 1, 'healthy']], 600_000, now)).toBe(now - 600_000);
  });
});
