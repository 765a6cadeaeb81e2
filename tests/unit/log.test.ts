// lib/log.ts: one JSON line per call with level/time/msg, and no secret in any line — neither in
// well-known fields (pino redact) nor as a literal value anywhere (secretValues() scrubbing).
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, log as appLog, REDACTED, scrubber } from '@/lib/log';
import { parseEnv, secretValues } from '@/lib/env';
import { testEnv } from '../support/env-fixtures';

function collecting() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

const SECRETS = {
  SUPABASE_SERVICE_ROLE_KEY: 'srk-super-secret-value-0001',
  ANTHROPIC_API_KEY: 'sk-ant-secret-value-0002',
  REDIS_PASSWORD: 'redis-pass-"quoted"-0003',
  ADMIN_API_TOKEN: 'admin-token-secret-value-0004-abcdefghijkl',
  DATABASE_URL: 'postgres://app:db-pass-0005@db.internal:5432/app',
};

function logger(level = 'debug') {
  const { lines, stream } = collecting();
  const env = parseEnv({ NODE_ENV: 'test', ...SECRETS });
  const log = createLogger({ level, secrets: secretValues(env), base: { service: 'svc', version: '1.2.3' }, destination: stream });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('lib/log.ts', () => {
  it('writes one JSON line per call with level label, ISO time, msg, base fields and the caller fields', () => {
    const { log, parsed } = logger();
    log.info('request', { requestId: 'rid-12345678', route: '/api/x', status: 200, durationMs: 1.5 });
    log.warn('slow');
    log.error('boom', { code: 'E1' });
    const [a, b, c] = parsed();
    expect(a).toMatchObject({ level: 'info', msg: 'request', service: 'svc', version: '1.2.3', requestId: 'rid-12345678', route: '/api/x', status: 200, durationMs: 1.5 });
    expect(new Date(String(a!.time)).toISOString()).toBe(a!.time);
    expect(b).toMatchObject({ level: 'warn', msg: 'slow' });
    expect(c).toMatchObject({ level: 'error', msg: 'boom', code: 'E1' });
  });

  it('child loggers carry their bindings; levels below the threshold are dropped', () => {
    const { log, parsed } = logger('info');
    log.child({ requestId: 'rid-child-0001' }).info('hello', { n: 1 });
    log.debug('dropped');
    const lines = parsed();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ requestId: 'rid-child-0001', n: 1, msg: 'hello' });
  });

  it('redacts secret-bearing fields by name, top level and nested', () => {
    const { log, lines, parsed } = logger();
    log.info('incoming', {
      authorization: 'Bearer not-in-env-secret-a',
      password: 'not-in-env-secret-b',
      headers: { authorization: 'Bearer not-in-env-secret-c', cookie: 'sid=not-in-env-secret-d', 'x-api-key': 'not-in-env-secret-e' },
      req: { headers: { authorization: 'Bearer not-in-env-secret-f' }, token: 'not-in-env-secret-g' },
      user: { apiKey: 'not-in-env-secret-h', name: 'kept' },
    });
    const text = lines.join('\n');
    expect(text).not.toMatch(/not-in-env-secret/);
    const [l] = parsed();
    expect(l).toMatchObject({
      authorization: REDACTED,
      password: REDACTED,
      headers: { authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED },
      req: { headers: { authorization: REDACTED }, token: REDACTED },
      user: { apiKey: REDACTED, name: 'kept' },
    });
  });

  it('scrubs every secretValues() value wherever it appears: message, any field, error message and stack', () => {
    const { log, lines } = logger();
    const err = new Error(`connect failed for ${SECRETS.DATABASE_URL}`);
    log.error(`key ${SECRETS.ANTHROPIC_API_KEY} rejected`, {
      err,
      detail: { deep: { deeper: SECRETS.SUPABASE_SERVICE_ROLE_KEY } },
      list: [SECRETS.ADMIN_API_TOKEN],
      quoted: SECRETS.REDIS_PASSWORD,
    });
    const text = lines.join('\n');
    for (const s of Object.values(SECRETS)) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(JSON.stringify(s).slice(1, -1));
    }
    expect(text).not.toContain('db-pass-0005');
    expect(text.split(REDACTED).length - 1).toBeGreaterThanOrEqual(5);
    // The line is still valid JSON after scrubbing.
    expect(() => JSON.parse(lines[0]!)).not.toThrow();
  });

  it('scrubber replaces the longest secret first and ignores values too short to be secrets', () => {
    const scrub = scrubber(['abc', 'pass-1234', 'postgres://u:pass-1234@h/db']);
    expect(scrub('url=postgres://u:pass-1234@h/db pw=pass-1234 abc')).toBe(`url=${REDACTED} pw=${REDACTED} abc`);
  });
});

describe('the process logger (log)', () => {
  const env = testEnv();
  afterEach(() => {
    env.restore();
    vi.restoreAllMocks();
  });

  it('writes one JSON line per event to stdout and masks any configured secret that slips in', () => {
    env.set({ ADMIN_API_TOKEN: 'super-secret-admin-token-value' });
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    appLog.warn('oops super-secret-admin-token-value', { event: 'x', detail: 'token=super-secret-admin-token-value', n: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 'warn', msg: 'oops [redacted]', event: 'x', detail: 'token=[redacted]', n: 3, service: 'unite-hub' });
    expect(typeof parsed.time).toBe('string');
    expect(lines[0]).not.toContain('super-secret');
  });
});
