// /admin – the admin console: sign-in with the admin token, then the Redis circuit breaker with a
// reset. Nothing below the sign-in form is rendered (or computed) without a valid session.
import type { Metadata } from 'next';
import Link from 'next/link';
import { consoleEnabled, currentSession } from '@/lib/admin/console';
import { recentCircuitResets } from '@/lib/admin/audit';
import { getCircuitSnapshot } from '@/lib/redis/breaker';
import { getEnv } from '@/lib/env';
import { formatClock } from '@/lib/format';
import { signOut } from './actions';
import { CircuitPanel } from './circuit-panel';
import { ResetCircuitForm } from './reset-form';
import { SignInForm } from './sign-in-form';
import styles from './admin.module.css';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Admin', robots: { index: false, follow: false } };

export default async function AdminPage() {
  const session = consoleEnabled() ? await currentSession() : null;
  return (
    <main id="main">
      <header className={styles.header}>
        <h1>Admin console</h1>
        <nav aria-label="Site" className={styles.nav}>
          <Link href="/">Home</Link>
          <Link href="/status">Status</Link>
          {session && (
            <Link href="/admin" prefetch={false}>
              Refresh
            </Link>
          )}
        </nav>
      </header>
      {!consoleEnabled() ? (
        <p className={styles.panel} role="note">
          The admin console is disabled on this server: ADMIN_API_TOKEN is not set.
        </p>
      ) : !session ? (
        <SignInForm />
      ) : (
        <>
          <div className={styles.sessionBar}>
            <p className={styles.muted}>Signed in until {formatClock(session.expiresAt.toISOString())}.</p>
            <form action={signOut}>
              <button type="submit" className={styles.secondary}>
                Sign out
              </button>
            </form>
          </div>
          <CircuitPanel
            snapshot={getCircuitSnapshot()}
            resets={recentCircuitResets(10)}
            slot={getEnv().DEPLOYMENT_SLOT ?? null}
            actions={<ResetCircuitForm />}
          />
        </>
      )}
    </main>
  );
}
