// / – the Unite-Hub landing page: what it is, and where to see whether it is up.
import Link from 'next/link';
import styles from './home.module.css';

export default function HomePage() {
  return (
    <main id="main" className={styles.home}>
      <header className={styles.hero}>
        <p className={styles.brand}>Unite-Hub</p>
        <h1>One hub for your team&apos;s work.</h1>
        <p className={styles.lead}>Unite-Hub is served from a blue/green deployment that reports its own health truthfully. Check how it is doing right now, or manage it if you are an admin.</p>
        <p className={styles.actions}>
          <Link className={styles.primary} href="/status">
            System status
          </Link>
          <Link className={styles.secondary} href="/admin">
            Admin console
          </Link>
        </p>
      </header>
      <section aria-labelledby="ops-heading" className={styles.grid}>
        <h2 id="ops-heading" className="visually-hidden">
          For operators
        </h2>
        <article className={styles.card}>
          <h3>Status page</h3>
          <p>
            <Link href="/status">/status</Link> shows each component (database, cache, AI service) with its latency over the last minutes, and refreshes itself.
          </p>
        </article>
        <article className={styles.card}>
          <h3>Health API</h3>
          <p>
            <code>GET /api/health/system</code> answers 200 healthy, 206 degraded, 503 unhealthy, from a short-lived cache.
          </p>
        </article>
        <article className={styles.card}>
          <h3>Admin console</h3>
          <p>
            <Link href="/admin">/admin</Link> shows the Redis circuit breaker and resets it; sign in with the admin token.
          </p>
        </article>
      </section>
    </main>
  );
}
