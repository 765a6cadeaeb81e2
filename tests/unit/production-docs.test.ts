// docs/production.md and the repository around it, as an operator on a production host meets them:
// the TLS directory the guide tells them to fill is never committed, and every command the guide
// runs inside a container works without a terminal (over ssh, in CI): `exec -T`. The docker test
// (tests/docker) runs the same commands against a real stack.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const guide = readFileSync(`${root}docs/production.md`, 'utf8');

/** Every `docker-compose ... exec` / `docker compose ... exec` command in the guide, as written. */
export function execCommands(text: string): string[] {
  return [...text.matchAll(/docker[- ]compose(?: -f \S+)* exec\b[^`\n]*/g)].map((m) => m[0]);
}

describe('docs/production.md on a production host', () => {
  it('certs/ (the guide copies privkey.pem there) is ignored by git', () => {
    for (const f of ['certs/privkey.pem', 'certs/fullchain.pem']) {
      const r = spawnSync('git', ['check-ignore', '--quiet', '--no-index', f], { cwd: root });
      expect(r.status, `${f} is not ignored by git: a private key could be committed`).toBe(0);
    }
  });

  it('every exec into a container passes -T (no TTY over ssh or in CI)', () => {
    const cmds = execCommands(guide);
    expect(cmds.length).toBeGreaterThan(3);
    expect(cmds.filter((c) => !/ exec -T /.test(c))).toEqual([]);
  });
});
