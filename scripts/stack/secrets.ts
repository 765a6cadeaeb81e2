// The stack's secrets, generated once and kept with its data in secrets.json (mode 0600): the
// Postgres passwords must match the cluster initdb made, and keeping the admin token means a
// person's browser session and bookmarks survive a restart.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './files.ts';
import type { Layout } from './layout.ts';
import { shown } from './layout.ts';
import { StackError } from './report.ts';

export interface Secrets {
  /** The `postgres` superuser (the stack's own administration: creating the app's role and database). */
  pgSuperPassword: string;
  /** The app's role `unite_hub`, owner of the `unite_hub` database. */
  pgAppPassword: string;
  redisPassword: string;
  adminApiToken: string;
  sessionSecret: string;
}

/**
 * RFC 6750 token68: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then optional "=" padding.
 * base64url without padding uses a subset, and needs no escaping in a URL, an env file or a shell.
 */
export const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** 32 random bytes = 43 characters of base64url (256 bits). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

const KEYS: (keyof Secrets)[] = ['pgSuperPassword', 'pgAppPassword', 'redisPassword', 'adminApiToken', 'sessionSecret'];

export function validSecrets(s: unknown): s is Secrets {
  return !!s && typeof s === 'object' && KEYS.every((k) => {
    const v = (s as Record<string, unknown>)[k];
    return typeof v === 'string' && v.length >= 32 && TOKEN68.test(v);
  });
}

/** Reads secrets.json, or creates it when there is no data yet that depends on it. */
export function loadOrCreateSecrets(l: Layout, clusterExists: boolean): { secrets: Secrets; created: boolean } {
  if (existsSync(l.secretsFile)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(l.secretsFile, 'utf8'));
    } catch {
      parsed = null;
    }
    if (!validSecrets(parsed)) throw new StackError(`${shown(l.secretsFile)} is damaged; npm run stack:down -- --purge starts over (the stack's data is deleted)`);
    return { secrets: parsed, created: false };
  }
  if (clusterExists) throw new StackError(`${shown(l.secretsFile)} is missing but the database in ${shown(l.pgData)} needs its passwords; npm run stack:down -- --purge starts over (the stack's data is deleted)`);
  const secrets = Object.fromEntries(KEYS.map((k) => [k, randomSecret()])) as unknown as Secrets;
  writeFileAtomic(l.secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, 0o600);
  return { secrets, created: true };
}
