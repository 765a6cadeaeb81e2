// Runs Debian's shellcheck (installed by ./scripts/setup.sh) over script snippets pulled out of
// the Dockerfile (RUN) and the workflow (run:), reporting each warning against the snippet's line.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from './dockerfile.ts';

export function shellcheck(scripts: { line: number; script: string }[], shell: 'sh' | 'bash'): Finding[] {
  const dir = mkdtempSync(join(tmpdir(), 'unite-hub-shellcheck-'));
  try {
    return scripts.flatMap(({ line, script }) => {
      const file = join(dir, 'script.sh');
      writeFileSync(file, `${script}\n`);
      const r = spawnSync('shellcheck', ['-s', shell, '-f', 'gcc', file], { encoding: 'utf8' });
      if (r.error) return [{ rule: 'shellcheck', line, message: `shellcheck could not run (${r.error.message}); ./scripts/setup.sh installs it` }];
      if (r.status !== 0 && r.stdout.trim() === '') return [{ rule: 'shellcheck', line, message: `shellcheck failed: ${r.stderr.trim()}` }];
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => ({ rule: 'shellcheck', line, message: l.replace(`${file}:`, 'snippet line ') }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
