// The app's logger: one JSON line per call on stdout (pino), with level, ISO time, service,
// version and slot on every line. Usage everywhere: `log.info('message', { requestId, ... })`.
//
// Secrets never reach the output, two ways:
//   1. pino `redact` blanks well-known secret-bearing fields (authorization, cookie, password,
//      token, api keys...) wherever a caller passes them, even nested one level;
//   2. every line is scrubbed of the literal values of `secretValues()` (lib/env.ts) before it is
//      written, so a secret inside a message or an error stack is replaced too.
// Pretty output only with NODE_ENV=development (pino-pretty is a dev dependency, loaded by pino's
// transport worker by name, so the production build never references it).
import pino, { type DestinationStream, type Logger } from 'pino';
import { getEnv, secretValues, type Env } from './env';
import { resetSingleton, singleton } from './singleton';

export const REDACTED = '[redacted]';

const REDACT_PATHS = [
  'authorization',
  'cookie',
  'password',
  'token',
  'apiKey',
  'api_key',
  'secret',
  'accessToken',
  'refreshToken',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["set-cookie"]',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.accessToken',
  '*.refreshToken',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
];

type LogFields = Record<string, unknown>;

interface AppLogger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `bindings` (e.g. { requestId, route }). */
  child(bindings: LogFields): AppLogger;
}

interface LoggerOptions {
  level: string;
  secrets: string[];
  base: LogFields;
  pretty?: boolean;
  /** Tests pass a collecting stream; the app writes to stdout. */
  destination?: DestinationStream;
}

/** Replaces every literal secret, raw or as it appears JSON-escaped inside a string, in one line. */
export function scrubber(secrets: string[]): (line: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length < 4) continue;
    needles.add(s);
    needles.add(JSON.stringify(s).slice(1, -1));
  }
  // Longest first: a secret that contains another (a URL holding a password) goes whole.
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const n of ordered) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  };
}

export function createLogger(opts: LoggerOptions): AppLogger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: opts.base,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: { streamWrite: scrubber(opts.secrets) },
  };
  if (opts.pretty && !opts.destination) {
    options.transport = { target: 'pino-pretty', options: { colorize: true } };
    return wrap(pino(options));
  }
  // process.stdout, not pino's own fd writer: writes to pipes and files are synchronous on Linux
  // (no line lost on exit), and Docker, Next and tests all see the same stream.
  return wrap(pino(options, opts.destination ?? process.stdout));
}

function wrap(logger: Logger): AppLogger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    child: (bindings) => wrap(logger.child(bindings)),
  };
}

const LOGGER_KEY = 'log';

function appLogger(): AppLogger {
  return singleton(LOGGER_KEY, () => {
    let env: Env | undefined;
    try {
      env = getEnv();
    } catch {
      // Bad environment: start-up reports it and exits; log what we can meanwhile.
    }
    return createLogger({
      level: env?.LOG_LEVEL ?? 'info',
      secrets: env ? secretValues(env) : [],
      base: { pid: process.pid, service: env?.DD_SERVICE ?? 'unite-hub', version: env?.APP_VERSION ?? 'dev', slot: env?.DEPLOYMENT_SLOT ?? null },
      pretty: env?.NODE_ENV === 'development',
    });
  });
}

/** The process-wide logger (created on first use; one per process across Next's bundles). */
export const log: AppLogger = {
  debug: (msg, fields) => appLogger().debug(msg, fields),
  info: (msg, fields) => appLogger().info(msg, fields),
  warn: (msg, fields) => appLogger().warn(msg, fields),
  error: (msg, fields) => appLogger().error(msg, fields),
  child: (bindings) => appLogger().child(bindings),
};

/** Forgets the process logger: the next line creates it anew from the current environment. */
export function resetLogger(): void {
  resetSingleton(LOGGER_KEY);
}
