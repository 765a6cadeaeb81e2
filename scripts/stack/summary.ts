// What a person needs once the stack is up: the URLs (through nginx), where the admin token is
// (the file, never the token on screen), what is not configured and why that is fine, and the
// next commands. Before printing, one real request per URL through nginx proves they answer.
import type { DeployStatus } from './deploy-cli.ts';
import type { AppEnv } from './env-file.ts';
import { type Layout, type Ports, shown } from './layout.ts';
import type { Reporter } from './report.ts';

export interface NginxCheck {
  ok: boolean;
  problem?: string;
  home: number | null;
  health: number | null;
  servedBy: string | null;
  notConfigured: string[];
}

async function get(url: string): Promise<{ status: number | null; slot: string | null; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'manual' });
    return { status: res.status, slot: res.headers.get('x-deployment-slot'), body: await res.text() };
  } catch (e) {
    return { status: null, slot: null, body: String((e as Error).message) };
  }
}

export async function checkThroughNginx(port: number): Promise<NginxCheck> {
  const base = `http://127.0.0.1:${port}`;
  const [home, health] = await Promise.all([get(`${base}/`), get(`${base}/api/health/system`)]);
  let notConfigured: string[] = [];
  try {
    const body = JSON.parse(health.body) as { checks?: { name: string; error?: string }[] };
    notConfigured = (body.checks ?? []).filter((c) => c.error === 'not configured').map((c) => c.name);
  } catch {
    /* reported below through the status code */
  }
  const problems: string[] = [];
  if (home.status !== 200) problems.push(`GET / answered ${home.status ?? home.body}`);
  if (health.status !== 200) problems.push(`GET /api/health/system answered ${health.status ?? health.body}`);
  return { ok: problems.length === 0, problem: problems.join('; ') || undefined, home: home.status, health: health.status, servedBy: health.slot, notConfigured };
}

export function printSummary(r: Reporter, o: { layout: Layout; ports: Ports; status: DeployStatus; check: NginxCheck; appEnv: AppEnv; version: string; elapsed: string }): void {
  const url = `http://127.0.0.1:${o.ports.nginx}`;
  const env = shown(o.layout.envFile);
  const live = o.status.active ?? o.check.servedBy ?? '?';
  const lines = [
    '',
    `Unite-Hub is up (${o.elapsed}): version ${o.version}, live slot ${live}, through nginx on port ${o.ports.nginx}`,
    '',
    `  App          ${url}/`,
    `  Status page  ${url}/status`,
    `  Admin        ${url}/admin   (token: the ADMIN_API_TOKEN line of ${env}; grep ^ADMIN_API_TOKEN= ${env})`,
    `  Health       ${url}/api/health/system   (HTTP ${o.check.health ?? '-'}${o.check.notConfigured.length ? `; not configured: ${o.check.notConfigured.join(', ')}` : ''})`,
    '',
  ];
  if (o.appEnv.unconfigured.ai) {
    lines.push('  AI service   not configured: no ANTHROPIC_API_KEY in your environment. The app runs without it and says');
    lines.push('               so; HEALTH_UNUSED_CHECKS=ai_service tells the deploy gate that this is on purpose.');
    lines.push('               To use the real API: export ANTHROPIC_API_KEY=... and run npm run stack again.');
  }
  if (o.appEnv.unconfigured.supabase) lines.push('  Supabase     not configured (not needed here: the database is the local Postgres, DATABASE_URL)');
  lines.push(
    `  Services     postgres 127.0.0.1:${o.ports.postgres}, redis 127.0.0.1:${o.ports.redis}, slots blue 127.0.0.1:${o.ports.blue} / green 127.0.0.1:${o.ports.green}`,
    `  Files        ${shown(o.layout.dir)}/  (env file and secrets: mode 0600; logs: ${shown(o.layout.logsDir)}/ and ${shown(o.layout.deployState)}/logs/)`,
    '',
    'Next:',
    '  npm run stack                  deploy the current build again, to the other slot, with zero downtime',
    '  npm run stack:status           the services and the deploy CLI\'s status',
    '  npm run stack:down             stop everything (data kept); npm run stack:down -- --purge deletes it too',
    '',
  );
  for (const l of lines) r.raw(l);
}
