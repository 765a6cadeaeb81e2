import { afterEach, describe, expect, it, vi } from 'vitest';
import { log } from '@/lib/log';
import { resetSingleton } from '@/lib/singleton';

const saved = { ...process.env };
afterEach(() => {
  process.env = saved;
  resetSingleton('env');
  vi.restoreAllMocks();
});

describe('log', () => {
  it('writes one JSON line per event and masks any configured secret that slips in', () => {
    resetSingleton('env');
    process.env = { ...saved, NODE_ENV: 'test', ADMIN_API_TOKEN: 'super-secret-admin-token-value' };
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    log.warn('oops super-secret-admin-token-value', { event: 'x', detail: 'token=super-secret-admin-token-value', n: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 'warn', msg: 'oops [redacted]', event: 'x', detail: 'token=[redacted]', n: 3 });
    expect(typeof parsed.time).toBe('string');
    expect(lines[0]).not.toContain('super-secret');
  });
});
