// The real services one test file (or an e2e stack, or a benchmark) runs against, started together
// and stopped together: PostgreSQL, redis-server, and the stand-ins for the SaaS this machine
// cannot reach (the Anthropic API, Supabase's PostgREST). They start concurrently; when one of them
// fails to start, the ones that did start are stopped (Postgres' temp dir removed) before the error
// is thrown, so a failed beforeAll leaves no process and no directory behind. Anything else the
// file starts (apps, a second server) can be adopt()ed and is stopped first, last in first out.
import { startAnthropicStandIn, type AnthropicStandIn } from './anthropic-standin.ts';
import { removePostgresDir, startPostgres, type PgServer } from './postgres.ts';
import { startPostgrestStandIn, type PostgrestStandIn } from './postgrest-standin.ts';
import { startRedis, type RedisServer, type RedisOptions } from './redis.ts';

interface Kinds {
  pg: PgServer;
  redis: RedisServer;
  ai: AnthropicStandIn;
  rest: PostgrestStandIn;
}

/** Which services to start: `true`, or the service's own options (rest: the service-role key). */
export interface Wanted {
  pg?: true;
  redis?: true | RedisOptions;
  ai?: true;
  rest?: { serviceKey: string };
}

interface Stoppable {
  stop(): Promise<void>;
}

export type Services<W extends Wanted> = { [K in keyof W & keyof Kinds]: Kinds[K] } & {
  /** Stops `thing` with the services (before them, newest first) and returns it. */
  adopt<T extends Stoppable>(thing: T): T;
  /** Stops everything adopted, then every service; removes Postgres' temp dir. */
  stop(): Promise<void>;
};

export interface ServicesOptions {
  /** Called with the PID of every server process started (e2e records them for its teardown). */
  onPid?: (pid: number) => void;
}

type Starter = (option: unknown) => Promise<Stoppable & { pid?: number }>;

const STARTERS: Record<keyof Kinds, Starter> = {
  pg: () => startPostgres(),
  redis: (o) => startRedis(o === true ? {} : (o as RedisOptions)),
  ai: () => startAnthropicStandIn(),
  rest: (o) => startPostgrestStandIn((o as { serviceKey: string }).serviceKey),
};

function stopperOf(kind: keyof Kinds, service: Stoppable): () => Promise<void> {
  if (kind !== 'pg') return () => service.stop();
  return async () => {
    await service.stop();
    removePostgresDir(service as PgServer);
  };
}

/** Runs every stop, even after one failed; throws the first failure at the end. */
async function stopAll(stops: (() => Promise<void>)[]): Promise<void> {
  const results = await Promise.allSettled(stops.map((s) => s()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function startServices<W extends Wanted>(wanted: W, opts: ServicesOptions = {}): Promise<Services<W>> {
  const kinds = (Object.keys(wanted) as (keyof Kinds)[]).filter((k) => wanted[k] !== undefined);
  const settled = await Promise.allSettled(kinds.map((k) => STARTERS[k](wanted[k])));
  const started: Partial<Record<keyof Kinds, Stoppable>> = {};
  const serviceStops: (() => Promise<void>)[] = [];
  const failures: string[] = [];
  settled.forEach((r, i) => {
    const kind = kinds[i]!;
    if (r.status === 'fulfilled') {
      started[kind] = r.value;
      serviceStops.push(stopperOf(kind, r.value));
      if (r.value.pid !== undefined && r.value.pid > 0) opts.onPid?.(r.value.pid);
    } else {
      failures.push(`${kind}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    }
  });
  if (failures.length > 0) {
    await stopAll(serviceStops);
    throw new Error(`could not start the test services (the others were stopped): ${failures.join('; ')}`);
  }

  const adopted: Stoppable[] = [];
  return {
    ...(started as { [K in keyof W & keyof Kinds]: Kinds[K] }),
    adopt(thing) {
      adopted.push(thing);
      return thing;
    },
    async stop() {
      try {
        // Apps first: they hold connections to the services.
        for (const thing of adopted.splice(0).reverse()) await thing.stop().catch(() => undefined);
      } finally {
        await stopAll(serviceStops.splice(0));
      }
    },
  };
}
