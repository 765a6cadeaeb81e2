// /admin – the admin console: sign-in with the admin token, then the Redis circuit breaker with a
// reset. Nothing below the sign-in form is rendered (or computed) without a valid session, and
// nothing at all while sessions cannot be checked (the session store is unreachable).
import type { Metadata } from 'next';
import Link from 'next/link';
import { consoleStatus, currentSession } from '@/lib/admin/console';
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

export default async function AdminPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const status = consoleStatus();
  const check = status === 'enabled' ? await currentSession() : null;
  const session = check?.state === 'valid' ? check.session : null;
  const unrecordedSignOut = (await searchParams).signout === 'unrecorded';
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
      {status === 'no-token' ? (
        <p className={styles.panel} role="note">
          The admin console is disabled on this server: ADMIN_API_TOKEN is not set.
        </p>
      ) : status === 'no-database' ? (
        <p className={styles.panel} role="note">
          The admin console is disabled on this server: DATABASE_URL is not set. Sign-outs are recorded in Postgres so that every server refuses a
          signed-out session; without it a session could not be ended.
        </p>
      ) : check?.state === 'unavailable' ? (
        <p className={styles.panel} role="alert" data-testid="session-store-down">
          The console cannot check sessions right now: the session store (Postgres) does not answer. Nothing is shown or changed until it does.{' '}
          <Link href="/admin" prefetch={false}>
            Try again
          </Link>
        </p>
      ) : !session ? (
        <>
          {unrecordedSignOut && (
            <p className={styles.panel} role="alert" data-testid="signout-unrecorded">
              You are signed out in this browser, but the sign-out could not be recorded (the session store did not answer): a copy of the session
              cookie would work again until it expires.
            </p>
          )}
          <SignInForm />
        </>
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
