// Graceful shutdown. Next's standalone server closes its listener at once on SIGTERM and waits for
// in-flight requests with no deadline. We put our handler in front of Next's:
//   1. readiness flips to 503 at once (load balancers and the deploy CLI stop sending work),
//   2. after SHUTDOWN_DELAY_MS (default 0: nginx has already switched away when the deploy CLI
//      stops a slot) Next's own handler runs: stop accepting, let in-flight requests finish,
//   3. SHUTDOWN_TIMEOUT_MS bounds the whole drain; past it the process exits 143 anyway.
import { singleton } from '../singleton';

interface ShutdownState {
  shuttingDown: boolean;
  installed: boolean;
  logger?: (msg: string) => void;
}

const state = () => singleton<ShutdownState>('lifecycle.shutdown', () => ({ shuttingDown: false, installed: false }));

/**
 * Routes the shutdown messages to the app logger once it exists (instrumentation.ts sets it after
 * dd-trace has started: pino must not be loaded before that, or dd-trace cannot hook it).
 */
export function setShutdownLogger(logger: (msg: string) => void): void {
  state().logger = logger;
}

export function isShuttingDown(): boolean {
  return state().shuttingDown;
}

interface ShutdownOptions {
  delayMs: number;
  timeoutMs: number;
  log?: (msg: string) => void;
}

export function installShutdownHandler(opts: ShutdownOptions): void {
  const s = state();
  if (s.installed) return;
  s.installed = true;
  const log = (m: string) => (s.logger ?? opts.log ?? console.log)(m);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // Next registered its cleanup before loading instrumentation; we run it ourselves, later.
    const previous = process.listeners(signal) as ((sig: NodeJS.Signals) => void)[];
    process.removeAllListeners(signal);
    process.on(signal, () => {
      if (s.shuttingDown) return;
      s.shuttingDown = true;
      log(`${signal} received: readiness is now 503; draining for at most ${opts.timeoutMs} ms`);
      const code = signal === 'SIGTERM' ? 143 : 130;
      setTimeout(() => {
        log('drain deadline reached; exiting');
        process.exit(code);
      }, opts.timeoutMs).unref();
      setTimeout(() => {
        if (previous.length === 0) process.exit(code);
        for (const fn of previous) fn(signal);
      }, opts.delayMs);
    });
  }
}
