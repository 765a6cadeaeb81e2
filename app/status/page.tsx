// /status – public system status, rendered on the server from the cached health snapshot and
// refreshed in place by StatusBoard.
import type { Metadata } from 'next';
import Link from 'next/link';
import { getStatusSnapshot } from '@/lib/status/snapshot';
import { StatusBoard } from './status-board';
import styles from './status.module.css';

// Never prerendered at build time: the page shows this process's live health.
export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Status' };

export default async function StatusPage() {
  const snapshot = await getStatusSnapshot();
  return (
    <main id="main">
      <header className={styles.header}>
        <h1>Unite-Hub status</h1>
        <nav aria-label="Site">
          <Link href="/">Home</Link>
        </nav>
      </header>
      <StatusBoard initial={snapshot} />
    </main>
  );
}
