// Builds the production app when there is no build, or when a source file is newer than it.
// npm test runs this first, so tests always exercise the code in the work tree.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const marker = join(root, '.next/standalone/server.js');
// The slot preload is copied into .next/standalone by copy-standalone-assets.ts: a change to it is a change to the build.
const sources = ['app', 'lib', 'proxy.ts', 'instrumentation.ts', 'next.config.ts', 'package-lock.json', 'public', 'scripts/deploy/slot-socket.ts', 'scripts/deploy/slot-env.ts', 'scripts/copy-standalone-assets.ts'];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const built = existsSync(marker) ? statSync(marker).mtimeMs : 0;
const changed = Math.max(...sources.map((s) => newest(join(root, s))));
if (built && built >= changed) {
  console.log('ensure-build: production build is up to date');
} else {
  console.log(built ? 'ensure-build: sources changed since the last build; rebuilding' : 'ensure-build: no production build; building');
  try {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error('ensure-build: `npm run build` failed (see its output above)');
    process.exit(1);
  }
}
