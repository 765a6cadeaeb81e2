import Link from 'next/link';

export default function HomePage() {
  return (
    <main>
      <h1>Unite-Hub</h1>
      <p>One hub for your team&apos;s work.</p>
      <p>
        <Link href="/status">System status</Link>
      </p>
    </main>
  );
}
