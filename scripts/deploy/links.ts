// The traffic switch's only moving parts: two symlinks that nginx's upstream names,
//   <dir>/live.sock    -> the live slot's unix socket
//   <dir>/backup.sock  -> the slot nginx falls back to when the live one refuses or resets a
//                         connection (the slot traffic just left, until the monitor ends)
// nginx resolves the path at every new upstream connection, so re-pointing a link moves traffic
// at once with no reload. A link is replaced atomically: a new symlink under a temp name, renamed
// over the old one (rename(2) replaces the directory entry in one step; nginx sees the old target
// or the new one, never none). The link target is relative (process runtime: slots/<slot>.sock in
// the same directory) or absolute in the containers' view (compose: /run/unite-hub/slots/<slot>.sock,
// a path that only exists inside the containers; on the host the link dangles, by design).
import { lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crashPoint } from './crash-points.ts';
import { shellQuote } from './shell-quote.ts';
import { DeployError, EXIT, isSlot, type Slot } from './types.ts';

export type LinkName = 'live' | 'backup';

export class SlotLinks {
  readonly dir: string;
  private readonly target: (slot: Slot) => string;

  /** `target(slot)`: what a link to that slot's socket contains (relative to dir, or absolute). */
  constructor(dir: string, target: (slot: Slot) => string) {
    this.dir = dir;
    this.target = target;
  }

  path(name: LinkName): string {
    return join(this.dir, `${name}.sock`);
  }

  /** The slot a link names (from its target's file name), or null: no link, or not one of ours. */
  read(name: LinkName): Slot | null {
    try {
      const slot = basename(readlinkSync(this.path(name))).replace(/\.sock$/, '');
      return isSlot(slot) ? slot : null;
    } catch {
      return null;
    }
  }

  /** What a link names: a slot, null (no link), or 'other' (a link, but not to one of our sockets). */
  readTarget(name: LinkName): Slot | null | 'other' {
    if (!this.exists(name)) return null;
    return this.read(name) ?? 'other';
  }

  /** Temp links a run killed between symlink() and rename() left behind (point()'s own names). */
  tempLinks(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => /^\.(live|backup)\.sock\.\d+\.tmp$/.test(f)).map((f) => join(this.dir, f));
    } catch {
      return [];
    }
  }

  /** Points a link at a slot's socket, atomically. */
  point(name: LinkName, slot: Slot): void {
    const tmp = join(this.dir, `.${name}.sock.${process.pid}.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
      rmSync(tmp, { force: true });
      symlinkSync(this.target(slot), tmp);
      crashPoint(`${name}.sock:linked`);
      renameSync(tmp, this.path(name));
      crashPoint(`${name}.sock:renamed`);
    } catch (err) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        /* the directory itself is the problem: nothing was created */
      }
      const e = err as NodeJS.ErrnoException;
      const hint = e.code === 'EACCES' || e.code === 'EPERM' ? ` (the deploy user must own ${this.dir}; if Docker created it as root: sudo chown "$USER" ${this.dir})` : '';
      throw new DeployError(`cannot point ${this.path(name)} at ${slot}: ${e.code ?? e.message}${hint}`, EXIT.failed);
    }
  }

  /** Removes a link (nginx then gets "no such file" for it: what a fresh host has before the first deploy). */
  remove(name: LinkName): void {
    try {
      rmSync(this.path(name), { force: true });
    } catch (err) {
      throw new DeployError(`cannot remove ${this.path(name)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.failed);
    }
  }

  /** Points `name` at `slot`, or removes it when slot is null. */
  set(name: LinkName, slot: Slot | null): void {
    if (slot) this.point(name, slot);
    else this.remove(name);
  }

  /** Whether the link exists at all (even dangling). */
  exists(name: LinkName): boolean {
    try {
      return lstatSync(this.path(name)).isSymbolicLink();
    } catch {
      return false;
    }
  }

  /** What point() does, as shell commands an operator can run by hand (docs/production.md). */
  describe(name: LinkName, slot: Slot): string {
    const tmp = join(this.dir, `.${name}.sock.tmp`);
    return `ln -sfn ${shellQuote(this.target(slot))} ${shellQuote(tmp)} && mv -T ${shellQuote(tmp)} ${shellQuote(this.path(name))}`;
  }
}
