// .env.example is what operators copy to .env.production (the compose env_file). It must name every
// variable lib/env.ts reads, be valid as it stands for a production start (placeholders included),
// and use only the plain KEY=value lines docker-compose v1 and v2 read the same way.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseEnv } from '@/lib/env';

const root = new URL('../..', import.meta.url).pathname;
const example = readFileSync(`${root}.env.example`, 'utf8');
// Keys of the zod object in lib/env.ts: the four-space-indented `NAME:` entries.
const schemaKeys = [...readFileSync(`${root}lib/env.ts`, 'utf8').matchAll(/^ {4}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);

const active = new Map<string, string>();
const commented = new Set<string>();
for (const line of example.split('\n')) {
  const set = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
  if (set) active.set(set[1]!, set[2]!);
  const doc = /^#\s?([A-Z][A-Z0-9_]*)=/.exec(line);
  if (doc) commented.add(doc[1]!);
}

describe('.env.example', () => {
  it('documents every variable lib/env.ts reads', () => {
    expect(schemaKeys.length).toBeGreaterThan(20);
    const missing = schemaKeys.filter((k) => !active.has(k) && !commented.has(k));
    expect(missing, `add these to .env.example: ${missing.join(', ')}`).toEqual([]);
  });

  it('names nothing lib/env.ts does not read', () => {
    const unknown = [...active.keys(), ...commented].filter((k) => !schemaKeys.includes(k));
    expect(unknown).toEqual([]);
  });

  it('is a valid production environment as it stands', () => {
    const env = parseEnv(Object.fromEntries(active));
    expect(env.NODE_ENV).toBe('production');
    expect(env.REDIS_HOST).toBe('redis');
  });

  it('has no quotes or trailing comments (docker-compose v1 would keep them in the value)', () => {
    for (const [k, v] of active) {
      expect(v, k).not.toMatch(/^["']|\s#/);
      expect(v, k).not.toMatch(/\s/);
    }
  });

  it('does not set what the image and compose fix (HOSTNAME, PORT) or what the deploy sets', () => {
    for (const k of ['HOSTNAME', 'PORT', 'APP_VERSION', 'DEPLOYMENT_SLOT']) expect(active.has(k), k).toBe(false);
  });
});
