// Release directories for the deploy tests and bench: the real production build, wrapped so the
// server ALSO answers one test-only route, a long streaming response (Server-Sent Events) that
// lasts `ms` milliseconds. It exists only in these wrappers (never in the product): a long request
// that spans a switch must finish on the slot it started on, not be cut.
//   GET /__test/stream?ms=3000  -> 200 text/event-stream, `data: <n>` every 100 ms, then `event: end`
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STREAM_PATH = '/__test/stream';

/** Writes releasesDir/name/server.js: the stream route in front of `serverJs` (the real build). */
export function writeStreamRelease(releasesDir: string, name: string, serverJs: string): void {
  mkdirSync(join(releasesDir, name), { recursive: true });
  writeFileSync(join(releasesDir, name, 'server.js'), [
    '// Test release: the production build plus a long streaming route (tests/support/stream-release.ts).',
    "const http = require('node:http');",
    'const emit = http.Server.prototype.emit;',
    'http.Server.prototype.emit = function (ev, req, res) {',
    `  if (ev === 'request' && req.url.startsWith(${JSON.stringify(STREAM_PATH)})) {`,
    "    const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms')) || 3000;",
    "    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'x-deployment-slot': process.env.DEPLOYMENT_SLOT, 'x-app-version': process.env.APP_VERSION });",
    '    let n = 0;',
    '    const tick = setInterval(() => res.write(`data: ${++n}\\n\\n`), 100);',
    "    const end = setTimeout(() => { clearInterval(tick); res.end('event: end\\ndata: done\\n\\n'); }, ms);",
    "    res.on('close', () => { clearInterval(tick); clearTimeout(end); });",
    '    return true;',
    '  }',
    '  return emit.apply(this, arguments);',
    '};',
    `require(${JSON.stringify(serverJs)});`,
    '',
  ].join('\n'));
}

export interface StreamResult {
  /** 200 and the final `event: end` arrived: the stream was not cut. */
  complete: boolean;
  status: number | null;
  slot: string | null;
  events: number;
  ms: number;
  error?: string;
}

/** One streaming GET (its own connection); resolves when it ends, completely or not. */
export function openStream(baseUrl: string, ms: number, timeoutMs = ms + 30_000): Promise<StreamResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let body = '';
    let status: number | null = null;
    let slot: string | null = null;
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const events = (body.match(/^data: \d+$/gm) ?? []).length;
      resolve({ complete: status === 200 && body.includes('event: end'), status, slot, events, ms: Math.round(performance.now() - started), ...(error ? { error } : {}) });
    };
    const req = http.get(`${baseUrl}${STREAM_PATH}?ms=${ms}`, { agent: false }, (res) => {
      status = res.statusCode ?? null;
      slot = typeof res.headers['x-deployment-slot'] === 'string' ? res.headers['x-deployment-slot'] : null;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done());
      res.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      res.on('aborted', () => done('aborted'));
    });
    req.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    const timer = setTimeout(() => {
      req.destroy();
      done('timeout');
    }, timeoutMs);
  });
}
