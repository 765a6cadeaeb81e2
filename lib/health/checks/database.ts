// database: critical. With DATABASE_URL, `SELECT 1` on the shared pool; otherwise one minimal
// PostgREST request through supabase-js (a HEAD on a probe table: PostgREST answers 404 for a
// missing table when it is up, and 503 when it cannot reach Postgres).
import { getEnv } from '../../env';
import { getDbPool } from '../../db/client';
import { getSupabaseAdmin } from '../../supabase/client';
import type { HealthCheck } from '../types';

const SUPABASE_PROBE_TABLE = '_unite_hub_health_probe';

class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

export const databaseCheck: HealthCheck = {
  name: 'database',
  critical: true,
  notConfigured() {
    const env = getEnv();
    if (env.DATABASE_URL) return null;
    if (env.NEXT_PUBLIC_SUPABASE_URL && env.SUPABASE_SERVICE_ROLE_KEY) return null;
    return 'not configured';
  },
  async probe(signal) {
    const pool = getDbPool();
    if (pool) {
      await pool.query('SELECT 1');
      return;
    }
    const supabase = getSupabaseAdmin()!;
    const { status } = await supabase
      .from(SUPABASE_PROBE_TABLE)
      .select('*', { head: true })
      .limit(1)
      .abortSignal(signal);
    // A 2xx (table exists; postgrest-js reports a HEAD 404 as 204) or 404 (PGRST205, table absent)
    // proves PostgREST answered from its schema cache; 503 is PostgREST failing to reach Postgres.
    if (!((status >= 200 && status < 300) || status === 404)) throw new HttpStatusError(status || 503);
  },
};
