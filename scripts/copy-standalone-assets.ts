// `next build` with output: 'standalone' leaves static assets out of .next/standalone; the
// standalone server only serves them when they are copied next to it (as the Dockerfile does).
import { cpSync, existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const standalone = `${root}.next/standalone`;
if (!existsSync(`${standalone}/server.js`)) {
  console.error('copy-standalone-assets: .next/standalone/server.js is missing; did `next build` run?');
  process.exit(1);
}
cpSync(`${root}.next/static`, `${standalone}/.next/static`, { recursive: true });
if (existsSync(`${root}public`)) cpSync(`${root}public`, `${standalone}/public`, { recursive: true });
console.log('copy-standalone-assets: static assets copied into .next/standalone');
