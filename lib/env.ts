// The one validated reader of process.env. Everything else imports getEnv().
// Parsed lazily (first call) so `next build` never needs production secrets, and cached per process.
import { z } from 'zod';
import { resetSingleton, singleton } from './singleton';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const optionalUrl = z.preprocess(emptyToUndefined, z.url().optional());

const ADMIN_TOKEN_MIN_LENGTH = 32;
/**
 * RFC 6750's b64token (token68): what an `Authorization: Bearer` header can carry. The admin API
 * parses the header with it (lib/admin/credentials.ts), so a token with any other character (a
 * space, `!`, `$`, `:`, `@`, ...) could never be presented there: it is refused at start-up.
 */
export const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Checks HEALTH_UNUSED_CHECKS may name: the optional ones (database is critical). */
export const OPTIONAL_CHECKS = ['redis', 'ai_service'] as const;

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),

    NEXT_PUBLIC_SUPABASE_URL: optionalUrl,
    SUPABASE_SERVICE_ROLE_KEY: optionalString,
    SUPABASE_JWT_SECRET: optionalString,

    DATABASE_URL: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    // How the pg pool reaches Postgres (lib/db/client.ts): directly, or through a pooler in
    // transaction or session mode; and how many connections this process may hold.
    ENABLE_DB_POOLER: bool,
    DB_POOLER_MODE: z.enum(['transaction', 'session']).default('transaction'),
    DB_POOL_SIZE: int(10, 1, 500),

    ANTHROPIC_API_KEY: optionalString,
    ANTHROPIC_BASE_URL: optionalUrl,

    REDIS_URL: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .optional(),
    ),
    REDIS_HOST: optionalString,
    REDIS_PORT: int(6379, 1, 65535),
    REDIS_PASSWORD: optionalString,
    REDIS_CONNECT_TIMEOUT_MS: int(2000, 50, 60_000),
    REDIS_COMMAND_TIMEOUT_MS: int(1000, 10, 60_000),

    // Redis circuit breaker (lib/redis/breaker.ts); defaults and reasons in docs/redis-admin.md.
    REDIS_BREAKER_TIMEOUT_MS: int(500, 10, 60_000),
    REDIS_BREAKER_ERROR_THRESHOLD_PERCENTAGE: int(50, 1, 100),
    REDIS_BREAKER_RESET_TIMEOUT_MS: int(10_000, 100, 600_000),
    REDIS_BREAKER_VOLUME_THRESHOLD: int(5, 1, 10_000),
    REDIS_BREAKER_CONSECUTIVE_FAILURES: int(5, 0, 10_000),
    REDIS_BREAKER_ROLLING_WINDOW_MS: int(10_000, 100, 600_000),
    REDIS_BREAKER_ROLLING_BUCKETS: int(10, 1, 100),
    REDIS_BREAKER_OPEN_ON_DISCONNECT: z
      .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
      .optional()
      .transform((v) => v === undefined || v === '' || v === 'true' || v === '1' || v === 'yes'),
    // Redis-backed cache of the public status summary (lib/status/summary.ts).
    STATUS_CACHE_TTL_SECONDS: int(5, 1, 3600),

    // Admin API (lib/admin/): bearer token, and optionally Supabase access tokens (HS256) with an admin role.
    ADMIN_API_TOKEN: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(TOKEN68, 'must use only the characters of an HTTP Bearer token (RFC 6750 token68: A-Z a-z 0-9 - . _ ~ + /, then = padding)')
        .optional(),
    ),

    // Status page and admin console (app/status, app/admin, lib/status, lib/admin/session.ts).
    // How often the open /status page asks for a fresh snapshot (it always reads the cached report).
    STATUS_REFRESH_MS: int(5000, 1000, 300_000),
    // Key for signing admin console sessions; when unset it is derived from ADMIN_API_TOKEN, so
    // rotating the token also signs every session out.
    SESSION_SECRET: z.preprocess(
      emptyToUndefined,
      z.string().refine((v) => v.length >= 32, 'must be at least 32 characters').optional(),
    ),
    ADMIN_SESSION_TTL_S: int(3600, 60, 7 * 24 * 3600),
    // Secure flag of the session cookie: auto = when the request came over https (the URL or
    // nginx's X-Forwarded-Proto); true/false force it (tests run plain http on loopback).
    ADMIN_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),

    // Observability (APM, logs, metrics). dd-trace also reads its own DD_* variables itself
    // (DD_AGENT_HOST, DD_TRACE_AGENT_PORT, DD_TRACE_SAMPLE_RATE, ...): that is the tracer's
    // documented configuration, not app configuration, so they are not duplicated here.
    ENABLE_APM: bool,
    APM_PROVIDER: z.preprocess(emptyToUndefined, z.enum(['datadog']).optional()),
    DD_SERVICE: z.preprocess(emptyToUndefined, z.string().default('unite-hub')),
    DD_ENV: optionalString,
    // Validated here so a typo refuses start-up with one line instead of traces silently vanishing.
    DD_TRACE_AGENT_URL: z.preprocess(
      emptyToUndefined,
      z
        .string()
        .regex(/^(https?:\/\/|unix:)/, 'must be an http://, https:// or unix: URL')
        .optional(),
    ),
    LOG_LEVEL: z.preprocess(
      emptyToUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),

    APP_VERSION: z.preprocess(emptyToUndefined, z.string().default('dev')),
    DEPLOYMENT_SLOT: z.preprocess(emptyToUndefined, z.enum(['blue', 'green']).optional()),

    HEALTH_CHECK_TIMEOUT_MS: int(2000, 50, 60_000),
    HEALTH_SLOW_MS: int(1000, 1, 60_000),
    HEALTH_CACHE_TTL_MS: int(1000, 0, 60_000),
    AI_HEALTH_CACHE_MS: int(60_000, 0, 3_600_000),
    // Optional checks the operator declares unused (comma-separated, e.g. `ai_service`): their
    // dependency is deliberately not configured, production stops requiring its variables, the
    // check still reports "not configured", and it no longer counts towards the overall status,
    // so the deploy gate's HTTP 200 does not hinge on a service this installation does not have.
    // The health body lists them under `unused` (docs/health.md).
    HEALTH_UNUSED_CHECKS: z.preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
      z.array(z.string()).default([]),
    ),
    SHUTDOWN_DELAY_MS: int(0, 0, 120_000),
    SHUTDOWN_TIMEOUT_MS: int(25_000, 0, 600_000),
  })
  .superRefine((env, ctx) => {
    // ENABLE_APM=true with no provider would silently trace nothing.
    if (env.ENABLE_APM && !env.APM_PROVIDER) {
      ctx.addIssue({ code: 'custom', path: ['APM_PROVIDER'], message: 'is required when ENABLE_APM=true' });
    }
    // A mode that disagrees with the pooler's port is dangerous (session-level SETs on a
    // transaction pooler leak to other clients): refused. The pooler on with no DATABASE_URL is
    // only pointless (the database is reached through Supabase REST): a start-up warning, since the
    // production guide's own quick start sets ENABLE_DB_POOLER=true without one.
    if (env.ENABLE_DB_POOLER && env.DATABASE_URL) {
      const mismatch = poolerPortMismatch(env.DATABASE_URL, env.DB_POOLER_MODE);
      if (mismatch) ctx.addIssue({ code: 'custom', path: ['DB_POOLER_MODE'], message: mismatch });
    }
    // opossum splits the rolling window into equal buckets.
    const window = env.REDIS_BREAKER_ROLLING_WINDOW_MS;
    const buckets = env.REDIS_BREAKER_ROLLING_BUCKETS;
    if (Number.isInteger(window) && Number.isInteger(buckets) && window % buckets !== 0) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_BREAKER_ROLLING_BUCKETS'], message: 'must divide REDIS_BREAKER_ROLLING_WINDOW_MS evenly' });
    }
    const unused = new Set(Array.isArray(env.HEALTH_UNUSED_CHECKS) ? env.HEALTH_UNUSED_CHECKS : []);
    const unusedIssue = (message: string) => ctx.addIssue({ code: 'custom', path: ['HEALTH_UNUSED_CHECKS'], message });
    for (const name of unused) {
      if (name === 'database') unusedIssue('cannot name database: it is critical');
      else if (!(OPTIONAL_CHECKS as readonly string[]).includes(name)) unusedIssue(`must list only ${OPTIONAL_CHECKS.join(', ')}`);
    }
    // "Unused" means "not configured on purpose": a configured dependency declared unused would
    // have its failures hidden from the overall status, so the contradiction refuses to start.
    if (unused.has('ai_service') && env.ANTHROPIC_API_KEY) unusedIssue('names ai_service, but ANTHROPIC_API_KEY is set: remove one of them');
    if (unused.has('redis') && (env.REDIS_HOST || env.REDIS_URL)) unusedIssue('names redis, but REDIS_HOST/REDIS_URL is set: remove one of them');
    if (env.NODE_ENV !== 'production') return;
    // In production every dependency in use must be configured: a half-configured server would
    // report "not configured" forever instead of refusing to start.
    const require = (key: keyof typeof env, ok: boolean) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: [key], message: 'is required in production' });
    };
    // Supabase is how the database is reached when DATABASE_URL is absent (lib/health/checks/database.ts).
    if (!env.DATABASE_URL) {
      require('NEXT_PUBLIC_SUPABASE_URL', !!env.NEXT_PUBLIC_SUPABASE_URL);
      require('SUPABASE_SERVICE_ROLE_KEY', !!env.SUPABASE_SERVICE_ROLE_KEY);
    }
    if (!unused.has('ai_service')) require('ANTHROPIC_API_KEY', !!env.ANTHROPIC_API_KEY);
    if (!unused.has('redis')) require('REDIS_HOST', !!(env.REDIS_HOST || env.REDIS_URL));
    require('ADMIN_API_TOKEN', !!env.ADMIN_API_TOKEN);
    if (env.ADMIN_API_TOKEN && env.ADMIN_API_TOKEN.length < ADMIN_TOKEN_MIN_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_API_TOKEN'],
        message: `must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters in production`,
      });
    }
  }, { when: () => true }); // run even when other fields failed, so one message names every bad variable

export type Env = z.infer<typeof schema>;

/**
 * On Supabase's own hosts (the Supavisor pooler, *.pooler.supabase.com, and the project's db.*
 * host with its dedicated pooler) the port decides the pool mode: 6543 is transaction mode, 5432
 * session mode (or the direct connection). A mode that disagrees with the port would make the app
 * behave for the wrong pooler. Other hosts (self-hosted PgBouncer/Supavisor) run on any port.
 */
function poolerPortMismatch(url: string | undefined, mode: 'transaction' | 'session'): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url ?? '');
  } catch {
    return null; // DATABASE_URL's own check reports a malformed URL
  }
  if (!/\.supabase\.(co|com)$/i.test(parsed.hostname)) return null;
  const port = parsed.port || '5432';
  const expected = mode === 'transaction' ? '6543' : '5432';
  if (port === expected) return null;
  return `is ${mode} but DATABASE_URL points at port ${port} of a Supabase host, which serves ${port === '6543' ? 'transaction' : 'session (or direct)'} connections; Supabase's ${mode} mode is on port ${expected}`;
}

/** Settings that are valid but have no effect as combined: one line each, logged at start-up. */
export function configWarnings(env: Env): string[] {
  const out: string[] = [];
  if (env.ENABLE_DB_POOLER && !env.DATABASE_URL) {
    out.push('ENABLE_DB_POOLER=true has no effect without DATABASE_URL: the database is reached through Supabase REST, with no connection to pool');
  }
  return out;
}

export class EnvError extends Error {
  constructor(readonly variables: string[], details: string) {
    super(`Invalid environment: ${details}`);
    this.name = 'EnvError';
  }
}

/** Validates a raw environment. The error names every bad variable and never echoes a value. */
export function parseEnv(raw: Record<string, string | undefined>): Env {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const byVar = new Map<string, string>();
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? '(root)');
    if (!byVar.has(key)) byVar.set(key, describe(issue));
  }
  const details = [...byVar].map(([k, m]) => `${k} ${m}`).join('; ');
  throw new EnvError([...byVar.keys()], details);
}

// zod's own messages can quote the received value; ours never do.
function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'invalid_type') return issue.expected === 'number' ? 'must be a number' : 'is missing';
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map(String).join('|')}`;
  if (issue.code === 'too_small' || issue.code === 'too_big') return 'is out of range';
  // Regex issues carry our own message ("must be a postgres:// URL"), never the value.
  if (issue.code === 'invalid_format') {
    return issue.format === 'regex' ? issue.message : `is not a valid ${issue.format}`;
  }
  return 'is invalid';
}

const ENV_KEY = 'env';

export function getEnv(): Env {
  return singleton(ENV_KEY, () => parseEnv(process.env));
}

/** Forgets the parsed environment: the next getEnv() validates process.env again (tests change it). */
export function resetEnv(): void {
  resetSingleton(ENV_KEY);
}

/** Secret values, so logs and tests can prove none of them leaks. */
export function secretValues(env: Env = getEnv()): string[] {
  const secrets = [
    env.SUPABASE_SERVICE_ROLE_KEY,
    env.SUPABASE_JWT_SECRET,
    env.ANTHROPIC_API_KEY,
    env.REDIS_PASSWORD,
    env.ADMIN_API_TOKEN,
    env.SESSION_SECRET,
    env.DATABASE_URL,
    env.REDIS_URL,
  ];
  return secrets.filter((s): s is string => !!s && s.length >= 4);
}
