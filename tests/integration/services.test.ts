// The test harness itself: startServices() starts real Postgres, Redis and the stand-ins together,
// and when one of them cannot start, nothing the others started outlives the failure (no
// postmaster, no temp dir, no listening stand-in).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive } from '../support/proc.ts';
import { startServices } from '../support/services.ts';

let scratch: string;
let savedTmp: string | undefined;
let blocker: Server | undefined;
const blockerSockets = new Set<Socket>();

// Every temp dir the harness makes goes under `scratch` (os.tmpdir() reads TMPDIR at each call),
// so what is left there, and which processes still name it, is exactly what leaked. TMPDIR is set
// on the real process environment (testEnv() swaps the process.env object, which lib/env.ts reads
// but os.tmpdir(), reading the C environment, does not).
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'uh-services-test-'));
  chmodSync(scratch, 0o755); // postgres (dropped to its own user) must reach its dir below
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
});

afterEach(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  for (const s of blockerSockets) s.destroy();
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  blocker = undefined;
  rmSync(scratch, { recursive: true, force: true });
});

/** PIDs whose command line mentions dir (a postmaster's -D, a redis-server's args). */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const listeningServers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;

function occupiedPort(): Promise<number> {
  return new Promise((resolve) => {
    blocker = createServer((s) => blockerSockets.add(s));
    blocker.listen(0, '127.0.0.1', () => {
      const addr = blocker!.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

describe('startServices', () => {
  it('starts Postgres, Redis and the Anthropic stand-in, and stop() removes every trace', async () => {
    const servers = listeningServers();
    const s = await startServices({ pg: true, redis: true, ai: true });
    const pids = [s.pg.pid, s.redis.pid];
    try {
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(true);
      expect((await fetch(`${s.ai.url}/v1/models`)).status).toBe(400); // answers (no version header)
      expect(readdirSync(scratch).filter((d) => d.startsWith('uh-pg-'))).toHaveLength(1);
    } finally {
      await s.stop(); // even when an assertion above failed: this test must not leak what it checks
    }
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(readdirSync(scratch)).toEqual([]);
    expect(listeningServers()).toBe(servers);
  });

  it('when Redis cannot start (its port is taken), Postgres and the stand-in are stopped and Postgres\' dir removed', async () => {
    const port = await occupiedPort();
    const servers = listeningServers();
    await expect(startServices({ pg: true, redis: { port }, ai: true })).rejects.toThrow(/redis: redis-server exited/);
    expect(readdirSync(scratch)).toEqual([]);
    expect(processesUnder(scratch)).toEqual([]);
    expect(listeningServers()).toBe(servers);
  });
});
