// Drain: after nginx switched away from the old slot, wait (bounded) until nginx's old worker
// processes, the only ones still holding requests to the old slot, have finished and exited; then
// stop the old slot gracefully (SIGTERM: the app flips readiness to 503 and lets in-flight requests
// finish; SIGKILL only after the grace period).
import type { NginxControl } from './nginx-control.ts';
import type { Runtime } from './runtime.ts';
import { sleep, type Logger, type Slot } from './types.ts';

export interface DrainOptions {
  nginx: NginxControl;
  runtime: Runtime;
  slot: Slot;
  timeoutMs: number;
  stopGraceMs: number;
  log: Logger;
  signal?: AbortSignal;
}

export interface DrainResult {
  waitedMs: number;
  /** Old workers still alive when the bound ran out (0 = fully drained, null = nginx cannot tell). */
  leftWorkers: number | null;
  stopMs: number;
}

/** Waits for nginx's old workers to exit; returns how many were left when it stopped waiting. Aborting only cuts the wait short. */
export async function waitForNginxDrain(nginx: NginxControl, timeoutMs: number, signal?: AbortSignal): Promise<{ ms: number; left: number | null }> {
  const started = performance.now();
  const count = async () => {
    const w = await nginx.oldWorkers();
    return w === null ? null : w.accepting + w.draining;
  };
  let left = await count();
  while (left !== null && left > 0 && performance.now() - started < timeoutMs && !signal?.aborted) {
    await sleep(100, signal).catch(() => undefined);
    left = await count();
  }
  return { ms: Math.round(performance.now() - started), left };
}

export async function drainAndStop(o: DrainOptions): Promise<DrainResult> {
  const { ms, left } = await waitForNginxDrain(o.nginx, o.timeoutMs, o.signal);
  if (left === null) o.log.info('nginx cannot report old workers; relying on the app draining its in-flight requests on SIGTERM');
  else if (left > 0) o.log.warn(`${left} old nginx worker(s) still busy after ${o.timeoutMs} ms; stopping ${o.slot} anyway (the app still drains in-flight requests on SIGTERM)`);
  else o.log.info(`nginx's old workers are gone (${ms} ms); stopping ${o.slot}`);
  const t = performance.now();
  await o.runtime.stop(o.slot, o.stopGraceMs);
  return { waitedMs: ms, leftWorkers: left, stopMs: Math.round(performance.now() - t) };
}
