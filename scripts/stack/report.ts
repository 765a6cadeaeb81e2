// What `npm run stack` says while it works: one line per step with its duration, a heartbeat with
// the elapsed time while a long step runs (initdb, a build, the deploy's gate), and the one-line
// error every failure ends with. Also the abortable sleep the steps share.

/** A failure the operator can act on: `message` says what happened and what to do, on one line. */
export class StackError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'StackError';
    this.exitCode = exitCode;
  }
}

/** Ctrl-C / SIGTERM arrived: unwind, clean up what this run started, exit 130. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new InterruptedError();
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface Reporter {
  info(line: string): void;
  warn(line: string): void;
  /** Raw output (the deploy CLI's lines), printed as is. */
  raw(line: string): void;
  /** Runs a step: "label ..." then "label: done (detail) in 1.2 s"; a heartbeat while it runs. */
  step<T>(label: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T>;
}

export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * heartbeatMs: how often a running step says it is still running. On a terminal the line is
 * redrawn in place; in a log (CI, tests) a line is printed every heartbeat.
 */
export function consoleReporter(opts: { heartbeatMs?: number; out?: NodeJS.WriteStream; err?: NodeJS.WriteStream } = {}): Reporter {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const tty = !!out.isTTY;
  const beat = opts.heartbeatMs ?? (tty ? 1000 : 10_000);
  let live: string | null = null; // the heartbeat line currently drawn (terminal only)
  const clear = () => {
    if (live !== null) out.write('\r\x1b[2K');
    live = null;
  };
  const print = (stream: NodeJS.WriteStream, line: string) => {
    clear();
    stream.write(`${line}\n`);
  };
  return {
    info: (l) => print(out, `stack: ${l}`),
    warn: (l) => print(err, `stack: WARNING: ${l}`),
    raw: (l) => print(out, l),
    async step(label, fn, detail) {
      const t0 = performance.now();
      print(out, `stack: ${label} ...`);
      const timer = setInterval(() => {
        const line = `stack:   ... ${label}: ${secs(performance.now() - t0)}`;
        if (tty) {
          out.write(`\r\x1b[2K${line}`);
          live = line;
        } else out.write(`${line}\n`);
      }, beat);
      try {
        const r = await fn();
        clearInterval(timer);
        const d = detail ? detail(r) : '';
        print(out, `stack: ${label}: done${d ? ` (${d})` : ''} in ${secs(performance.now() - t0)}`);
        return r;
      } catch (e) {
        clearInterval(timer);
        clear();
        throw e;
      }
    },
  };
}
