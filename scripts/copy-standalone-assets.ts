// `next build` with output: 'standalone' leaves static assets out of .next/standalone; the
// standalone server only serves them when they are copied next to it (as the Dockerfile does).
// The slot preload goes in too (scripts/deploy/slot-socket.ts and the one file it imports): a
// release directory copied from .next/standalone then carries what makes a slot serve its unix
// socket (`node --import ./scripts/deploy/slot-socket.ts server.js`, docs/deploy.md).
import { cpSync, existsSync, mkdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const standalone = `${root}.next/standalone`;
if (!existsSync(`${standalone}/server.js`)) {
  console.error('copy-standalone-assets: .next/standalone/server.js is missing; did `next build` run?');
  process.exit(1);
}
cpSync(`${root}.next/static`, `${standalone}/.next/static`, { recursive: true });
if (existsSync(`${root}public`)) cpSync(`${root}public`, `${standalone}/public`, { recursive: true });
mkdirSync(`${standalone}/scripts/deploy`, { recursive: true });
for (const f of ['slot-socket.ts', 'slot-env.ts']) cpSync(`${root}scripts/deploy/${f}`, `${standalone}/scripts/deploy/${f}`);
console.log('copy-standalone-assets: static assets and the slot preload copied into .next/standalone');
