// Bounds any promise by a deadline. The underlying work is not cancelled (callers pass an
// AbortSignal where the client supports one); the caller just stops waiting for it.
export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TimeoutError(ms);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    const running = work(controller.signal);
    // A late rejection after the deadline won must not become an unhandled rejection.
    running.catch(() => undefined);
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
