// The env file the slots run with (the deploy CLI's --env-file): the stack's own Postgres and
// Redis, the generated secrets, and the services this machine cannot provide taken from the
// caller's environment when present. Without an Anthropic key the AI check is declared unused
// (HEALTH_UNUSED_CHECKS, docs/health.md): the app says "not configured", the gate still gets 200.
import { writeFileAtomic } from './files.ts';
import { StackError } from './report.ts';
import type { Ports } from './layout.ts';
import type { Secrets } from './secrets.ts';

/** Variables of SaaS the stack cannot run locally; copied from the caller's environment when set. */
export const PASSTHROUGH = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'NEXT_PUBLIC_SUPABASE_URL',
  'NEXT_PUBLIC_SUPABASE_ANON_KEY',
  'SUPABASE_SERVICE_ROLE_KEY',
  'SUPABASE_JWT_SECRET',
] as const;

export const APP_DB = 'unite_hub';
export const APP_ROLE = 'unite_hub';

export interface AppEnv {
  text: string;
  vars: Record<string, string>;
  /** Which optional services are not configured, for the summary. */
  unconfigured: { ai: boolean; supabase: boolean };
}

export function renderAppEnv(s: Secrets, ports: Pick<Ports, 'postgres' | 'redis'>, caller: Record<string, string | undefined>): AppEnv {
  const vars: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: `postgresql://${APP_ROLE}:${s.pgAppPassword}@127.0.0.1:${ports.postgres}/${APP_DB}`,
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(ports.redis),
    REDIS_PASSWORD: s.redisPassword,
    ADMIN_API_TOKEN: s.adminApiToken,
    SESSION_SECRET: s.sessionSecret,
  };
  for (const k of PASSTHROUGH) {
    const v = caller[k]?.trim();
    if (!v) continue;
    // Plain KEY=value lines (the deploy CLI reads them with node:util parseEnv): a value with a
    // line break, a quote, a `#` or a space would be cut or changed, so it is refused, not mangled.
    if (/[\s#'"`\\]/.test(v)) throw new StackError(`${k} in your environment contains a space, quote, # or backslash, which the env file cannot carry; fix the value or unset it`, 2);
    vars[k] = v;
  }
  const ai = !vars.ANTHROPIC_API_KEY;
  if (ai) {
    delete vars.ANTHROPIC_BASE_URL;
    vars.HEALTH_UNUSED_CHECKS = 'ai_service';
  }
  const supabase = !(vars.NEXT_PUBLIC_SUPABASE_URL && vars.SUPABASE_SERVICE_ROLE_KEY);
  const text = [
    '# Written by `npm run stack` (scripts/stack/env-file.ts) on every run; edits here are overwritten.',
    '# Secrets come from secrets.json beside this file. To use Anthropic or Supabase, export their',
    `# variables (${PASSTHROUGH.join(', ')}) and run npm run stack again.`,
    ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
  return { text, vars, unconfigured: { ai, supabase } };
}

export function writeAppEnv(file: string, env: AppEnv): void {
  writeFileAtomic(file, env.text, 0o600);
}
