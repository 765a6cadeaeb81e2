// The build a run deploys. `scripts/ensure-build.ts` rebuilds when a source is newer than the
// build; the result is then copied to <stack>/releases/<version>/ and the slot runs from there,
// never from .next/standalone itself: `next build` empties .next/ first, and a live slot running
// from it would lose its files under its feet in the middle of the next run.
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Layout, REPO_ROOT, shown } from './layout.ts';
import { runToEnd } from './procs.ts';
import { StackError } from './report.ts';

export const STANDALONE = join(REPO_ROOT, '.next', 'standalone');

/** Runs scripts/ensure-build.ts (output to logs/build.log); a no-op when the build is current. */
export async function ensureBuild(l: Layout, signal?: AbortSignal): Promise<string> {
  const log = join(l.logsDir, 'build.log');
  const code = await runToEnd(process.execPath, [join(REPO_ROOT, 'scripts', 'ensure-build.ts')], { logFile: log, cwd: REPO_ROOT, env: process.env }, signal);
  if (code !== 0) throw new StackError(`the production build failed; its output is in ${shown(log)} (npm run build shows it too)`);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  const said = lines.filter((x) => x.startsWith('ensure-build:')).at(-1) ?? '';
  return said.includes('up to date') ? 'up to date' : 'built';
}

/** "<package version>+<BUILD_ID>", the name the deploy CLI itself gives the current build. */
export function currentVersion(dir = STANDALONE): string {
  if (!existsSync(join(dir, 'server.js'))) throw new StackError(`no production build in ${shown(dir)}: run npm run build`);
  const pkg = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  const id = readFileSync(join(dir, '.next', 'BUILD_ID'), 'utf8').trim();
  return `${pkg}+${id}`;
}

/** Copies the build to releases/<version>/ (temp dir, then rename: never half a release). */
export function prepareRelease(l: Layout, version: string): { dir: string; copied: boolean } {
  const dir = join(l.releasesDir, version);
  if (existsSync(join(dir, 'server.js'))) return { dir, copied: false };
  const tmp = join(l.releasesDir, `.${version}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  cpSync(STANDALONE, tmp, { recursive: true, verbatimSymlinks: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, copied: true };
}

/** Removes releases no slot needs: keeps `keep` (what runs or may be rolled back to) and the newest few. */
export function pruneReleases(l: Layout, keep: Set<string>, newest = 3): string[] {
  if (!existsSync(l.releasesDir)) return [];
  const all = readdirSync(l.releasesDir)
    .filter((d) => !d.startsWith('.'))
    .map((d) => ({ d, t: statSync(join(l.releasesDir, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  const removed: string[] = [];
  for (const [i, { d }] of all.entries()) {
    if (i < newest || keep.has(d)) continue;
    rmSync(join(l.releasesDir, d), { recursive: true, force: true });
    removed.push(d);
  }
  for (const d of readdirSync(l.releasesDir)) if (d.startsWith('.') && d.endsWith('.tmp')) rmSync(join(l.releasesDir, d), { recursive: true, force: true });
  return removed;
}
