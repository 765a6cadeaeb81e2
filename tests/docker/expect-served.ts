// The operator's check after a docker-test step, shared by the compose and swarm scenarios: what a
// person would curl through nginx-lb, on 80 and on 443, answers 200 from the expected slot/version.
import { expect } from 'vitest';
import { curl, served, type Clone } from './stack.ts';

/** curl's argument for the test certificates (writeCerts puts them in the clone). */
export const CACERT = ['--cacert', 'certs/fullchain.pem'];

/** `curl http://localhost/api/health/system` and `curl https://localhost/`: both 200, both served by slot/version. */
export function expectServedOverHttpAndTls(c: Clone, slot: string, version: string): void {
  const health = curl(c, 'http://localhost/api/health/system');
  expect(health.status, `curl http://localhost/api/health/system: ${health.error ?? health.body.slice(0, 300)}`).toBe(200);
  expect(served(health)).toBe(`${slot}/${version}`);
  const page = curl(c, 'https://localhost/', CACERT);
  expect(page.status, `curl https://localhost/: ${page.error ?? ''}`).toBe(200);
  expect(served(page)).toBe(`${slot}/${version}`);
}
