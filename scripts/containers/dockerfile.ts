// A small Dockerfile reader plus the project's own hadolint-style rules. dockerfile-utils (the
// validator behind VS Code's Docker support) checks syntax; these rules check what this project
// promises: pinned bases, non-root runtime, HOSTNAME=0.0.0.0, a curl-free HEALTHCHECK, no secret
// in any layer, dev dependencies present where `next build` runs. The integration test reuses the
// reader to start the server exactly as the image's CMD does.

export interface Instruction {
  keyword: string; // upper-cased
  args: string; // continuation lines joined, comments inside them dropped
  line: number; // 1-based line of the keyword
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface Finding {
  rule: string;
  line: number;
  message: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const out: Instruction[] = [];
  let current: Instruction | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    // Comments (and parser directives) are dropped, also between continuation lines, as Docker does.
    if (trimmed.startsWith('#') || (trimmed === '' && current === null)) continue;
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current === null) {
      const m = /^\s*(\S+)\s*(.*)$/.exec(piece);
      if (!m) continue;
      current = { keyword: (m[1] ?? '').toUpperCase(), args: m[2] ?? '', line: i + 1 };
    } else {
      current.args += ' ' + piece.trim();
    }
    if (!continued) {
      current.args = current.args.trim();
      out.push(current);
      current = null;
    }
  }
  if (current) out.push({ ...current, args: current.args.trim() });
  return out;
}

export function stages(instructions: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(ins.args);
      result.push({ from: m?.[1] ?? '', name: m?.[2], instructions: [] });
    } else if (result.length > 0) {
      result[result.length - 1]!.instructions.push(ins);
    }
  }
  return result;
}

/** Exec-form arguments (`["a", "b"]`), or null for shell form. */
export function execForm(args: string): string[] | null {
  if (!args.trim().startsWith('[')) return null;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
  } catch {
    return null;
  }
}

/** `ENV A=1 B="x y"` or legacy `ENV A 1`, with ${VAR} resolved from `vars` (ARG defaults, build args). */
export function parseEnvArgs(args: string, vars: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const expand = (v: string) => v.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => vars[a ?? b] ?? out[a ?? b] ?? '');
  if (!/^\w+=/.test(args.trim())) {
    const m = /^(\w+)\s+(.*)$/.exec(args.trim());
    if (m) out[m[1]!] = expand(m[2]!);
    return out;
  }
  const re = /(\w+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of args.matchAll(re)) {
    let v = m[2] ?? '';
    if (v.startsWith('"')) v = expand(v.slice(1, -1).replace(/\\(.)/g, '$1'));
    else if (v.startsWith("'")) v = v.slice(1, -1);
    else v = expand(v);
    out[m[1]!] = v;
  }
  return out;
}

export interface Runtime {
  workdir: string;
  user: string | undefined;
  env: Record<string, string>;
  cmd: string[];
  healthcheck: { options: Record<string, string>; command: string[] } | null;
}

/** What the final stage runs: WORKDIR, USER, ENV (ARG defaults and `buildArgs` applied), CMD, HEALTHCHECK. */
export function finalRuntime(text: string, buildArgs: Record<string, string> = {}): Runtime {
  const all = stages(parseDockerfile(text));
  const last = all[all.length - 1];
  if (!last) throw new Error('Dockerfile has no FROM');
  const vars: Record<string, string> = {};
  const rt: Runtime = { workdir: '/', user: undefined, env: {}, cmd: [], healthcheck: null };
  for (const ins of last.instructions) {
    if (ins.keyword === 'ARG') {
      const m = /^(\w+)(?:=(.*))?$/.exec(ins.args.trim());
      if (m) vars[m[1]!] = buildArgs[m[1]!] ?? (m[2] ?? '').replace(/^"(.*)"$/, '$1');
    } else if (ins.keyword === 'ENV') {
      Object.assign(rt.env, parseEnvArgs(ins.args, { ...vars, ...rt.env }));
    } else if (ins.keyword === 'WORKDIR') {
      rt.workdir = ins.args.startsWith('/') ? ins.args : `${rt.workdir.replace(/\/$/, '')}/${ins.args}`;
    } else if (ins.keyword === 'USER') {
      rt.user = ins.args.trim();
    } else if (ins.keyword === 'CMD') {
      rt.cmd = execForm(ins.args) ?? ['/bin/sh', '-c', ins.args];
    } else if (ins.keyword === 'HEALTHCHECK') {
      rt.healthcheck = parseHealthcheck(ins.args);
    }
  }
  return rt;
}

export function parseHealthcheck(args: string): Runtime['healthcheck'] {
  if (/^NONE$/i.test(args.trim())) return null;
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (let m = /^--([\w-]+)=(\S+)\s+/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    options[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  const cmd = /^CMD\s+([\s\S]*)$/i.exec(rest);
  if (!cmd) return { options, command: [] };
  const body = cmd[1] ?? '';
  return { options, command: execForm(body) ?? ['/bin/sh', '-c', body] };
}

const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|SERVICE_ROLE|DATABASE_URL|REDIS_URL)/i;

export function lintDockerfile(text: string): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: string, line: number, message: string) => findings.push({ rule, line, message });
  const all = stages(parseDockerfile(text));
  if (all.length === 0) return [{ rule: 'DF000', line: 1, message: 'no FROM instruction' }];
  const fromLines = parseDockerfile(text).filter((i) => i.keyword === 'FROM').map((i) => i.line);
  const stageNames = new Set<string>();
  let buildsNext = false;
  let prodOnlyInstall: number | null = null;
  for (const [index, stage] of all.entries()) {
    const fromLine = fromLines[index] ?? 1;
    if (!stageNames.has(stage.from) && !stage.from.includes('@sha256:')) {
      const tag = /:([^/:]+)$/.exec(stage.from)?.[1];
      if (!tag) add('DF001', fromLine, `FROM ${stage.from}: pin a tag (DL3006)`);
      else if (tag === 'latest') add('DF001', fromLine, `FROM ${stage.from}: do not use :latest (DL3007)`);
    }
    if (stage.name) stageNames.add(stage.name);
    for (const ins of stage.instructions) {
      if (ins.keyword === 'WORKDIR' && !ins.args.startsWith('/') && !ins.args.startsWith('$')) add('DF004', ins.line, 'WORKDIR must be absolute (DL3000)');
      if (ins.keyword === 'ADD') add('DF005', ins.line, 'use COPY instead of ADD (DL3020)');
      if ((ins.keyword === 'CMD' || ins.keyword === 'ENTRYPOINT') && !execForm(ins.args)) add('DF003', ins.line, `${ins.keyword} must use the JSON exec form so signals reach the process (DL3025)`);
      if (ins.keyword === 'ARG' || ins.keyword === 'ENV') {
        const names = ins.keyword === 'ARG' ? [/^(\w+)/.exec(ins.args)?.[1] ?? ''] : Object.keys(parseEnvArgs(ins.args));
        for (const n of names) if (SECRET_NAME.test(n)) add('DF008', ins.line, `${ins.keyword} ${n}: secrets must not be baked into a layer; pass them at run time`);
      }
      if ((ins.keyword === 'COPY' || ins.keyword === 'ADD') && /(^|[\s/])(\.env(\.[\w.-]+)?|[\w.-]*\.(pem|key))(\s|$)/.test(ins.args)) add('DF009', ins.line, `${ins.keyword} of an env/key file: secrets must not be baked into a layer`);
      if (ins.keyword === 'RUN') {
        if (/\bnext\s+build\b|npm\s+run\s+build/.test(ins.args)) buildsNext = true;
        if (/npm\s+(ci|install)\b[^&|;]*(--omit[= ]dev|--production|--only[= ]prod)/.test(ins.args)) prodOnlyInstall = ins.line;
        if (/\bsudo\b/.test(ins.args)) add('DF010', ins.line, 'do not use sudo (DL3004)');
        if (/apt-get\s+install/.test(ins.args) && !/--no-install-recommends/.test(ins.args)) add('DF011', ins.line, 'apt-get install without --no-install-recommends (DL3015)');
      }
    }
  }
  // The earlier implementation's pitfall: a production-only install (in any stage) feeding `next build`.
  if (buildsNext && prodOnlyInstall !== null) add('DF012', prodOnlyInstall, 'production-only npm install where next build runs: the build needs the dev dependencies');
  const rt = finalRuntime(text);
  const last = all[all.length - 1]!;
  const lastLine = (kw: string) => [...last.instructions].reverse().find((i) => i.keyword === kw)?.line ?? 1;
  if (!rt.user || /^(root|0)(:|$)/.test(rt.user)) add('DF002', lastLine('USER'), 'the runtime stage must switch to a non-root USER (DL3002)');
  if (rt.env.HOSTNAME !== '0.0.0.0') add('DF007', lastLine('ENV'), 'the runtime stage must set HOSTNAME=0.0.0.0 (the standalone server binds to $HOSTNAME)');
  if (!rt.healthcheck) add('DF006', 1, 'the runtime stage needs a HEALTHCHECK');
  else if (rt.healthcheck.command[0] === '/bin/sh') add('DF006', lastLine('HEALTHCHECK'), 'HEALTHCHECK must use the exec form');
  else if (rt.healthcheck.command.some((a) => /\b(curl|wget)\b/.test(a))) add('DF006', lastLine('HEALTHCHECK'), 'HEALTHCHECK must not need curl/wget (not in the image)');
  if (rt.cmd.length === 0) add('DF003', 1, 'the runtime stage needs a CMD');
  return findings;
}

/** RUN instructions in shell form, as scripts for shellcheck. */
export function runScripts(text: string): { line: number; script: string }[] {
  return parseDockerfile(text)
    .filter((i) => i.keyword === 'RUN' && !execForm(i.args))
    .map((i) => ({ line: i.line, script: i.args.replace(/^(--\S+\s+)+/, '') }));
}
