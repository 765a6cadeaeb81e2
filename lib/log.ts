// Structured logs: one JSON line per event on stdout. Deliberately tiny; the observability work
// replaces the internals with pino and keeps these exports (log.info / log.warn / log.error).
// Callers never pass secrets; as a second line of defence any configured secret value that still
// slips into a string field is masked before the line is written.
import { getEnv, secretValues } from './env';

type Fields = Record<string, unknown>;
type Level = 'info' | 'warn' | 'error';

function secrets(): string[] {
  try {
    return secretValues(getEnv());
  } catch {
    return []; // bad environment: start-up reports it; logging must still work
  }
}

function mask(value: unknown, known: string[]): unknown {
  if (typeof value !== 'string' || known.length === 0) return value;
  let out = value;
  for (const s of known) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

function write(level: Level, msg: string, fields: Fields = {}): void {
  const known = secrets();
  const line: Fields = { level, time: new Date().toISOString(), msg: mask(msg, known) };
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) line[k] = mask(v, known);
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export const log = {
  info: (msg: string, fields?: Fields) => write('info', msg, fields),
  warn: (msg: string, fields?: Fields) => write('warn', msg, fields),
  error: (msg: string, fields?: Fields) => write('error', msg, fields),
};
