// Stampede protection. All callers (the API, readiness, the status page) share one in-flight run,
// and a finished report is reused for HEALTH_CACHE_TTL_MS: however hard /api/health/system is hit,
// each dependency sees at most one round-trip per TTL.
import { monotonicMs } from '../clock';

interface Cached<T> {
  value: T;
  at: number;
}

export class SingleFlightCache<T> {
  private last: Cached<T> | undefined;
  private inflight: Promise<T> | undefined;

  constructor(
    private readonly ttlMs: () => number,
    private readonly compute: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    if (this.last && monotonicMs() - this.last.at < this.ttlMs()) return Promise.resolve(this.last.value);
    if (!this.inflight) {
      this.inflight = this.compute()
        .then((value) => {
          this.last = { value, at: monotonicMs() };
          return value;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }
}
