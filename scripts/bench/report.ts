// Appends a benchmark section to docs/BENCHMARKS.md (created with a title when missing) and
// prints it, so every figure in that file carries the command that produced it and its date.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const FILE = new URL('../../docs/BENCHMARKS.md', import.meta.url).pathname;

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function appendReport(title: string, command: string, body: string): void {
  const section = [`## ${title}`, '', `- When: ${new Date().toISOString()}`, `- Command: \`${command}\``, `- Machine: ${machineLine()}`, '', body.trim(), '', ''].join('\n');
  if (!existsSync(FILE)) {
    mkdirSync(new URL('.', `file://${FILE}`).pathname, { recursive: true });
    writeFileSync(FILE, '# Benchmarks\n\nEvery section is appended by the `npm run bench:*` script named in it; figures are from that run only.\n\n');
  }
  appendFileSync(FILE, section);
  console.log(section);
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
