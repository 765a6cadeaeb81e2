// After the e2e run: every spec stops its own stack in afterAll; this catches what a crashed
// worker could not (PIDs recorded in e2e/support/stack.ts).
import { stopRecorded } from './pids.ts';

export default async function globalTeardown(): Promise<void> {
  const stopped = await stopRecorded();
  if (stopped.length > 0) console.warn(`e2e teardown: stopped leftover processes ${stopped.join(', ')}`);
}
