// Before the e2e run: stop anything a previous, crashed run left behind (by PID, only if it is
// still one of our servers), then start with an empty PID file.
import { existsSync } from 'node:fs';
import { ROOT } from '../../tests/support/app.ts';
import { stopRecorded } from './pids.ts';

export default async function globalSetup(): Promise<void> {
  if (!existsSync(`${ROOT}.next/standalone/server.js`)) {
    throw new Error('no production build: run `npm run test:e2e` (it builds first) or `npm run build`');
  }
  await stopRecorded();
}
