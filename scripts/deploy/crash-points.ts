// Test-only fault injection: the deploy CLI SIGKILLs itself at a named instant, so a test can
// show that the NEXT command repairs whatever a kill at that instant leaves (tests/integration/
// deploy-crash.test.ts, npm run bench:deploy). A SIGKILL from outside cannot hit the instants that
// matter: between the two renames of the switch, or between "links moved" and "state written",
// are microseconds apart.
//
// Armed only when BOTH variables are set and agree with the run:
//   DEPLOY_TEST_CRASH_AT=<phase>:<point>[+<ms>]   e.g. switch:live.sock:renamed, monitor:started+1000
//   DEPLOY_TEST_CRASH_STATE_DIR=<the state directory of this very run>
// and that state directory lies inside the OS temp directory (os.tmpdir()). A production state
// directory is `.deploy/` in the checkout, so a stray DEPLOY_TEST_CRASH_AT in an operator's shell
// does nothing; and even armed, the effect is exactly a SIGKILL, the fault this design recovers
// from. `+<ms>` kills that long after the point is reached ("during the monitor").
// The point names are `<phase>:<point>`: the phase is the one the write-ahead intent last
// recorded (intent.ts), so shared code (a link rename, a SIGTERM sent) is told apart by phase.
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve, sep } from 'node:path';

let target: { point: string; delayMs: number } | null = null;
let phase = 'init';

export const CRASH_ENV = { at: 'DEPLOY_TEST_CRASH_AT', stateDir: 'DEPLOY_TEST_CRASH_STATE_DIR' } as const;

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** Arms the crash point for this run (cli.ts, once the state directory is known). Returns the armed point, or null. */
export function armCrashPoints(env: Record<string, string | undefined>, stateDir: string): string | null {
  target = null;
  const at = env[CRASH_ENV.at];
  const dir = env[CRASH_ENV.stateDir];
  if (!at || !dir || real(dir) !== real(stateDir)) return null;
  const tmp = real(tmpdir());
  if (!real(stateDir).startsWith(tmp + sep)) return null;
  const m = /^([a-z-]+:[a-z.:-]+?)(?:\+(\d+))?$/.exec(at);
  if (!m) return null;
  target = { point: m[1]!, delayMs: Number(m[2] ?? 0) };
  return at;
}

/** The phase the intent journal is in (crash points are named within it). */
export function setCrashPhase(p: string): void {
  phase = p;
}

/** A named instant; SIGKILLs this process when it is the armed one (never otherwise). */
export function crashPoint(point: string): void {
  if (!target || target.point !== `${phase}:${point}`) return;
  const { delayMs } = target;
  target = null; // once
  const die = () => {
    process.stderr.write(`deploy: TEST CRASH POINT ${phase}:${point}${delayMs ? `+${delayMs}` : ''}: SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  if (delayMs > 0) setTimeout(die, delayMs);
  else die();
}
