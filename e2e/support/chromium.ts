// Which Chromium the e2e tests and the docs screenshot use, and the flags a closed network needs.
// Playwright's own build cannot be downloaded here, so Debian's /usr/bin/chromium stands in when
// it is not installed (CHROMIUM_PATH overrides both).
import { existsSync } from 'node:fs';
import { chromium, type LaunchOptions } from '@playwright/test';

function executablePath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  let bundled = '';
  try {
    bundled = chromium.executablePath();
  } catch {
    // No browser registry entry: fall through to the system browser.
  }
  if (bundled && existsSync(bundled)) return undefined;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (existsSync(p)) return p;
  throw new Error('no Chromium: install the Debian package chromium (./scripts/setup.sh does) or set CHROMIUM_PATH');
}

export function chromiumLaunchOptions(): LaunchOptions {
  return {
    executablePath: executablePath(),
    args: [
      // Root in a container has no user namespaces for Chromium's sandbox.
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-dev-shm-usage',
      // Nothing may call out: no update checks, sync, metrics uploads, QUIC probes.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-domain-reliability',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-quic',
      '--metrics-recording-only',
    ],
  };
}
