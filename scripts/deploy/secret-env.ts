// Preload of a slot on Docker Swarm: `node --import ./scripts/deploy/secret-env.ts server.js` (the
// command of scripts/deploy/swarm/docker-stack.yml). The app reads its configuration from
// environment variables (lib/env.ts); on Swarm its secrets come as a Swarm secret, a file in
// /run/secrets/ holding the same env file the compose stack uses (.env.production). This reads
// that file (SECRETS_ENV_FILE) into process.env before the server starts, so the app itself is
// unchanged and secrets never appear in the service spec (`docker service inspect`), as an
// `env_file` or `environment` entry would. Variables already in the environment (the service's
// `environment`, the image's ENV) win, as `environment` wins over env_file in compose.
// Format, and the same rule redis's command in the stack file applies to REDIS_PASSWORD:
//   KEY=VALUE lines (KEY: letters, digits, _), the value taken as is up to the end of the line,
//   except that one pair of matching surrounding quotes ("..." or '...') is removed; blank lines
//   and lines starting with # are skipped; the last line for a KEY wins. No escapes, no ${...}.
// A file that cannot be read or a line that is not KEY=VALUE: one line on stderr naming the file
// and line (never a value), exit 78 (EX_CONFIG), as lib/env.ts does for a bad variable.
// Without SECRETS_ENV_FILE this file does nothing. No imports beyond Node's: it runs in the image.
import { readFileSync } from 'node:fs';

export const SECRETS_ENV_VAR = 'SECRETS_ENV_FILE';

export class EnvFileError extends Error {}

/** KEY -> value, by the rules above; throws EnvFileError naming the first bad line. */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new EnvFileError(`line ${i + 1} is not KEY=VALUE (a KEY of letters, digits and _, at the start of the line)`);
    let value = m[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    out.set(m[1]!, value);
  });
  return out;
}

/** Sets the file's variables that `env` does not have yet; returns how many were set and kept. */
export function applyEnvFile(vars: Map<string, string>, env: Record<string, string | undefined>): { set: number; kept: number } {
  let set = 0;
  let kept = 0;
  for (const [k, v] of vars) {
    if (env[k] !== undefined) kept++;
    else {
      env[k] = v;
      set++;
    }
  }
  return { set, kept };
}

const file = process.env[SECRETS_ENV_VAR];
if (file) {
  try {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new EnvFileError(`cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is the secret attached to the service?`);
    }
    const { set, kept } = applyEnvFile(parseEnvFile(text), process.env);
    console.log(`secret-env: ${set} variable(s) from ${file}${kept ? ` (${kept} already set by the service or image, kept)` : ''}`);
  } catch (err) {
    if (!(err instanceof EnvFileError)) throw err;
    console.error(`secret-env: ${file}: ${err.message}`);
    process.exit(78);
  }
}
