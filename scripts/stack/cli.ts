// The local stack CLI: argument parsing, signals and exit codes only (each step is its own module).
//   npm run stack            -> node scripts/stack/cli.ts up
//   npm run stack:status     -> node scripts/stack/cli.ts status
//   npm run stack:down [-- --purge]
// Every failure ends with ONE line "stack: error: <what>; <what to do>" and a non-zero exit.
import { parseArgs } from 'node:util';
import { down } from './down.ts';
import { resolveStackDir, shown } from './layout.ts';
import { consoleReporter, InterruptedError, StackError } from './report.ts';
import { status } from './status.ts';
import { up } from './up.ts';

export const USAGE = `usage: node scripts/stack/cli.ts up|status|down [--purge] [--dir DIR]
  up       start Postgres, Redis and nginx in the stack directory and deploy the current build
           (again: a zero-downtime deploy to the other slot)          = npm run stack
  status   the services and the deploy CLI's status                   = npm run stack:status
  down     stop every process of the stack, keep the data             = npm run stack:down
           --purge: also delete the stack directory                   = npm run stack:down -- --purge
  --dir DIR  the stack directory (default: STACK_DIR, else .stack/ in the repository)
  Ports: STACK_NGINX_PORT, STACK_BLUE_PORT, STACK_GREEN_PORT, STACK_POSTGRES_PORT, STACK_REDIS_PORT
  exit codes: 0 done, 1 failed (the last line says why), 2 usage, 130 interrupted (cleaned up)`;

export async function main(argv: string[], signal?: AbortSignal): Promise<number> {
  const report = consoleReporter();
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { purge: { type: 'boolean' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    console.error(`stack: error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const [cmd = 'up', ...rest] = positionals;
  if (rest.length > 0 || !['up', 'status', 'down'].includes(cmd) || (v.purge && cmd !== 'down')) {
    console.error(`stack: error: unexpected arguments: ${argv.join(' ')}\n${USAGE}`);
    return 2;
  }
  try {
    const dir = resolveStackDir(v.dir);
    if (cmd === 'status') return await status({ dir, report });
    if (cmd === 'down') {
      await down({ dir, purge: !!v.purge, report });
      return 0;
    }
    await up({ dir, env: process.env, report, signal });
    return 0;
  } catch (e) {
    // After Ctrl-C any failure is its consequence (a child in our process group got the SIGINT too):
    // report the interruption, not a misleading cause.
    if (e instanceof InterruptedError || signal?.aborted) {
      console.error(`stack: interrupted; nothing this run started is left running unknown (npm run stack:status shows what runs)`);
      return 130;
    }
    if (e instanceof StackError) {
      console.error(`stack: error: ${e.message}`);
      return e.exitCode;
    }
    const err = e as NodeJS.ErrnoException;
    // An unexpected failure still gets one line; the stack trace goes to a log only when asked.
    if (process.env.STACK_DEBUG) console.error(err.stack);
    console.error(`stack: error: unexpected: ${err.message}${err.path ? ` (${shown(err.path)})` : ''}; run again with STACK_DEBUG=1 for the stack trace`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // A reader that went away (`npm run stack | head`, a closed terminal) must not kill the run
  // half-way: output is then lost, the work and its clean-up still happen.
  for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
  const controller = new AbortController();
  let told = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // Ctrl-C reaches npm and this process together (npm also forwards it): one is enough.
      if (controller.signal.aborted) {
        if (!told) console.error('stack: still cleaning up, please wait');
        told = true;
        return;
      }
      console.error(`stack: ${sig} received: stopping, and cleaning up what this run started`);
      controller.abort();
    });
  }
  process.exit(await main(process.argv.slice(2), controller.signal));
}
