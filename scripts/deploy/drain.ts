// Drain: once neither link names the old slot, no new connection reaches it. What is left are
// requests already on it: nginx's pooled keep-alive connections (each carries at most one more
// request, answered `Connection: close`, or is closed by nginx itself after its keepalive_timeout
// of 4 s) and long requests (SSE, long-poll, upgraded connections). Wait, bounded, until the slot
// has no connection on its socket, then stop it gracefully: SIGTERM (the app flips readiness to
// 503 and lets what is still in flight finish, lib/lifecycle/shutdown.ts), SIGKILL after the grace.
// Nothing is cut before the drain timeout.
import { crashPoint } from './crash-points.ts';
import type { Runtime } from './runtime.ts';
import { sleep, type Logger, type Slot } from './types.ts';

export interface DrainOptions {
  runtime: Runtime;
  slot: Slot;
  timeoutMs: number;
  stopGraceMs: number;
  log: Logger;
  /** Cuts the wait short (never the stop). */
  signal?: AbortSignal;
}

export interface DrainResult {
  waitedMs: number;
  /** Connections still open when the wait ended (0 = drained; null = the runtime cannot tell). */
  leftConnections: number | null;
  stopMs: number;
}

/** Waits until the slot's socket has no connection; returns how many were left when it stopped waiting. */
export async function waitForIdle(runtime: Runtime, slot: Slot, timeoutMs: number, signal?: AbortSignal): Promise<{ ms: number; left: number | null }> {
  const started = performance.now();
  let left = await runtime.connections(slot);
  crashPoint('waiting');
  while (left !== null && left > 0 && performance.now() - started < timeoutMs && !signal?.aborted) {
    await sleep(100, signal).catch(() => undefined);
    left = await runtime.connections(slot);
  }
  return { ms: Math.round(performance.now() - started), left };
}

export async function drainAndStop(o: DrainOptions): Promise<DrainResult> {
  const { ms, left } = await waitForIdle(o.runtime, o.slot, o.timeoutMs, o.signal);
  if (left === null) o.log.info(`cannot count ${o.slot}'s connections; relying on the app draining its in-flight requests on SIGTERM`);
  else if (left > 0) o.log.warn(`${left} connection(s) still open on ${o.slot} after ${ms} ms; stopping it anyway (the app still drains in-flight requests on SIGTERM)`);
  else o.log.info(`${o.slot} has no connection left (${ms} ms); stopping it`);
  const t = performance.now();
  await o.runtime.stop(o.slot, o.stopGraceMs);
  return { waitedMs: ms, leftConnections: left, stopMs: Math.round(performance.now() - t) };
}
