// One service-role Supabase client per process, used when DATABASE_URL is absent. Sessions are
// not persisted: this is a server-side client, not a browser session.
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { getEnv } from '../env';
import { singleton } from '../singleton';

export function getSupabaseAdmin(): SupabaseClient | null {
  const env = getEnv();
  if (!env.NEXT_PUBLIC_SUPABASE_URL || !env.SUPABASE_SERVICE_ROLE_KEY) return null;
  return singleton('supabase.admin', () =>
    createClient(env.NEXT_PUBLIC_SUPABASE_URL!, env.SUPABASE_SERVICE_ROLE_KEY!, {
      auth: { persistSession: false, autoRefreshToken: false },
      // postgrest-js retries 503/520 with backoff by default; health must see the first answer,
      // and callers bound every call with their own deadline anyway.
      db: { retry: false },
    }),
  );
}
