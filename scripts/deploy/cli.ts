// Blue/green deploy CLI: argument parsing and dispatch only (each step lives in its own module).
//   node scripts/deploy/cli.ts [blue|green] [--dry-run] [--skip-tests] [--force] [--rollback] [--version V] [options]
//   node scripts/deploy/cli.ts status [--json]
// scripts/deploy-blue-green.sh and `npm run deploy -- ...` run this file.
import { parseArgs } from 'node:util';
import { OPTIONS, REPO_ROOT, RUNTIME_DEFAULTS, type OptionName } from './config.ts';
import { runDeploy, type DeployRequest } from './deploy.ts';
import { dryRun } from './dry-run.ts';
import { collectStatus, formatStatus } from './status.ts';
import { armCrashPoints, CRASH_ENV } from './crash-points.ts';
import { describeTraffic } from './traffic-watch.ts';
import { AbortedError, consoleLogger, DeployError, EXIT, isSlot, printable, type Logger, type Slot } from './types.ts';
import { setUp } from './wiring.ts';

/** "default X", plus the container runtimes' own defaults where they differ (nginx-lb on port 80, ...). */
function defaults(name: OptionName): string {
  const o = OPTIONS[name];
  // An empty default is described by the help text itself (--traffic-log: per runtime; --verdict-exclude: none).
  if (o.kind === 'flag') return ', default off';
  const own = (['compose', 'swarm'] as const).filter((r) => RUNTIME_DEFAULTS[r][name]).map((r) => `; ${r} runtime: ${RUNTIME_DEFAULTS[r][name]}`);
  return o.def === '' ? '' : `, default ${o.def}${own.join('')}`;
}

export const USAGE = `usage: ./scripts/deploy-blue-green.sh [blue|green] [options]
       ./scripts/deploy-blue-green.sh --rollback [options]
       ./scripts/deploy-blue-green.sh status [--json]
  (also: npm run deploy -- <same arguments>)

  blue|green           slot to deploy to (default: the one that is not live; blue on the first deploy)
  --dry-run            print every step and the exact commands (start, links, stop); change nothing
  --skip-tests         skip the health gate (NOT recommended; recorded in history)
  --force              switch even if the health gate fails; allow redeploying the live slot in place
  --rollback           return traffic to the previous slot and version
  --version VERSION    version to deploy (default: latest); process runtime: releases/VERSION/
  --allow-degraded     accept HTTP 206 (degraded) as healthy in the gate and the monitor
  --help               this text
${Object.entries(OPTIONS)
  .map(([name, o]) => `  --${`${name}${o.kind === 'flag' ? '' : o.kind === 'seconds' ? ' SECONDS' : o.kind === 'count' ? ' N' : ' VALUE'}`.padEnd(32)} ${o.help} [${o.env}${o.kind === 'flag' ? '=1' : ''}${defaults(name as OptionName)}]`)
  .join('\n')}

exit codes: 0 done, 1 failed (traffic unchanged), 2 usage, 3 rolled back after the switch,
            4 another deploy holds the lock, 5 refused (nothing started), 6 traffic moved but
            could not be recorded (the next command reconciles), 7 the new slot failed after the
            switch with no slot to flip back to (traffic stays on it: act now), 130 interrupted`;

export interface CliIo {
  log: Logger;
  print: (line: string) => void;
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

function usageError(msg: string, io: CliIo): number {
  io.log.error(msg);
  console.error(USAGE.split('\n').slice(0, 4).join('\n'));
  console.error('  (--help lists every option)');
  return EXIT.usage;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  // Options of kind 'flag' (--monitor-only) take no value; the rest take one.
  const stringOpts = Object.fromEntries(Object.entries(OPTIONS).map(([k, o]) => [k, { type: o.kind === 'flag' ? ('boolean' as const) : ('string' as const) }]));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...stringOpts,
        version: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'skip-tests': { type: 'boolean' },
        force: { type: 'boolean' },
        rollback: { type: 'boolean' },
        'allow-degraded': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usageError((err as Error).message, io);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.print(USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 1) return usageError(`too many arguments: ${positionals.join(' ')}`, io);
  const [first] = positionals;
  const isStatus = first === 'status';
  if (first !== undefined && !isStatus && !isSlot(first)) return usageError(`unknown slot or command "${first}" (expected blue, green or status)`, io);
  if (v.rollback && first) return usageError('--rollback takes no slot: it returns to the previous one', io);
  if (isStatus && (v.rollback || v['dry-run'] || v.force || v['skip-tests'] || v.version !== undefined)) return usageError('status takes no deploy options', io);
  if (v.json && !isStatus) return usageError('--json only applies to status', io);
  if (v.version !== undefined && v.version.trim() === '') return usageError('--version needs a value', io);
  if (v.version !== undefined && /[\u0000-\u001f\u007f]/.test(v.version)) return usageError(`--version ${printable(v.version, 60)} holds control characters`, io);

  try {
    const flags: Partial<Record<OptionName, string>> = {};
    const values = v as Record<string, unknown>;
    for (const k of Object.keys(OPTIONS) as OptionName[]) if (typeof values[k] === 'string' || values[k] === true) flags[k] = values[k] === true ? '1' : (values[k] as string);
    // --runtime / DEPLOY_RUNTIME picks the runtime and with it the nginx control (wiring.ts).
    const env = io.env ?? process.env;
    const { config, runtime, nginx } = setUp(flags, env, REPO_ROOT);
    const ctx = { config, runtime, nginx, log: io.log, signal: io.signal };
    const armed = armCrashPoints(env, config.stateDir);
    if (armed) io.log.warn(`test crash point armed: ${armed} (${CRASH_ENV.at}; tests only)`);

    if (isStatus) {
      const report = await collectStatus(ctx);
      io.print(v.json ? JSON.stringify(report, null, 2) : formatStatus(report, config.stateDir));
      return EXIT.ok;
    }
    const req: DeployRequest = {
      rollback: !!v.rollback,
      slot: first as Slot | undefined,
      version: v.version,
      force: !!v.force,
      skipTests: !!v['skip-tests'],
      allowDegraded: !!v['allow-degraded'],
      command: ['deploy-blue-green', ...argv].join(' '),
    };
    if (v['dry-run']) {
      await dryRun(ctx, req, io.print);
      return EXIT.ok;
    }
    const { exitCode, record } = await runDeploy(ctx, req);
    io.print(`\n${record.kind} ${record.outcome.toUpperCase()}: ${record.from ?? '(none)'} -> ${record.target ?? '?'} version ${record.version ?? '?'} (exit ${exitCode})`);
    for (const p of record.phases) io.print(`  ${p.name.padEnd(10)} ${String(p.ms).padStart(7)} ms  ${p.ok ? 'ok  ' : 'FAIL'}  ${p.detail ?? ''}`);
    for (const l of describeTraffic(record.traffic)) io.print(`  ${l}`);
    for (const w of record.warnings) io.print(`  warning: ${w}`);
    if (record.error) io.print(`  error: ${record.error}`);
    return exitCode;
  } catch (err) {
    if (err instanceof AbortedError) {
      io.log.warn('interrupted before anything started');
      return EXIT.interrupted;
    }
    if (err instanceof DeployError) {
      if (err.exitCode === EXIT.usage) return usageError(err.message, io);
      io.log.error(err.message);
      return err.exitCode;
    }
    // A bug, not an operator's mistake (the deploy itself catches everything; this is status,
    // --dry-run or setting up): the stack helps whoever fixes it.
    io.log.error(`unexpected: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return EXIT.failed;
  }
}

// Run as a program: Ctrl-C / SIGTERM / SIGHUP abort the current step; the deploy then restores a
// consistent state (traffic on a healthy slot, no orphan slot, lock released) before exiting 130.
if (import.meta.url === `file://${process.argv[1]}`) {
  const log = consoleLogger();
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) {
        log.warn(`${sig} again: still restoring a consistent state, please wait`);
        return;
      }
      log.warn(`${sig} received: stopping the deploy and restoring a consistent state`);
      controller.abort();
    });
  }
  const code = await main(process.argv.slice(2), { log, print: (l) => console.log(l), signal: controller.signal });
  process.exit(code);
}
