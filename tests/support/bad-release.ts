// A "bad release" for the process runtime, made from a good one the way
// tests/integration/deploy-safety.test.ts injects a crash: a release directory whose server.js
// patches node:http's request dispatch, then requires the real server.js. The product has no fault
// switch; only this test release misbehaves. On the chosen page (exact path, query ignored) it:
//   - answers HTTP 500 to a fraction of the requests (deterministic: every round(1/fraction)-th,
//     so "10 %" is exactly 10 % however few requests there are), with the x-deployment-slot and
//     x-app-version headers the app sets, so nginx's log names the slot as for a real app error;
//   - and/or delays the request by a given number of ms before the app sees it.
// Health routes are never touched unless named: the point is a release that passes every probe.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BadReleaseOptions {
  /** The good release's server.js (e.g. releases/v1/server.js, or any node http server script). */
  baseServer: string;
  /** Exact request path to misbehave on, e.g. '/status'. */
  path: string;
  /** Share of that page's requests answered 500, 0..1 (default 0). */
  errorFraction?: number;
  /** Added to each request of that page, ms (default 0). */
  addLatencyMs?: number;
}

export function badReleaseScript(o: BadReleaseOptions): string {
  const every = o.errorFraction && o.errorFraction > 0 ? Math.max(1, Math.round(1 / o.errorFraction)) : 0;
  const delay = Math.max(0, Math.round(o.addLatencyMs ?? 0));
  return [
    '// Test release: a good release with a fault injected on one page (tests/support/bad-release.ts).',
    "const http = require('node:http');",
    `const PATH = ${JSON.stringify(o.path)};`,
    `const EVERY = ${every};`,
    `const DELAY = ${delay};`,
    'let seen = 0;',
    'const emit = http.Server.prototype.emit;',
    'http.Server.prototype.emit = function (ev, req, res) {',
    "  if (ev !== 'request' || req.url.split('?')[0] !== PATH) return emit.apply(this, arguments);",
    '  seen++;',
    '  if (EVERY > 0 && seen % EVERY === 0) {',
    "    res.writeHead(500, { 'content-type': 'text/plain', 'x-deployment-slot': process.env.DEPLOYMENT_SLOT || '', 'x-app-version': process.env.APP_VERSION || '' });",
    "    res.end('injected failure (bad-release test wrapper)\\n');",
    '    return true;',
    '  }',
    '  if (DELAY > 0) {',
    '    const args = arguments;',
    '    setTimeout(() => emit.apply(this, args), DELAY);',
    '    return true;',
    '  }',
    '  return emit.apply(this, arguments);',
    '};',
    `require(${JSON.stringify(o.baseServer)});`,
    '',
  ].join('\n');
}

/** Writes `<releasesDir>/<name>/server.js` (CommonJS whatever package.json is above it); returns its path. */
export function writeBadRelease(releasesDir: string, name: string, o: BadReleaseOptions): string {
  const dir = join(releasesDir, name);
  mkdirSync(dir, { recursive: true });
  // The process runtime runs `node <release>/server.js`; a "type": "module" package.json further up
  // (the repository's, when releases/ is inside the checkout) would make require() unavailable.
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  const file = join(dir, 'server.js');
  writeFileSync(file, badReleaseScript(o));
  return file;
}
