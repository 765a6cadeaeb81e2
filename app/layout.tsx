import type { Metadata, Viewport } from 'next';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Unite-Hub', template: '%s · Unite-Hub' },
  description: 'Unite-Hub',
};

// Rendered per request so Next can stamp this request's CSP nonce (set in proxy.ts) on its inline
// scripts; a prerendered page would carry no nonce and its scripts would be blocked.
export const dynamic = 'force-dynamic';

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        {children}
      </body>
    </html>
  );
}
