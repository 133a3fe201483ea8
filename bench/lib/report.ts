/** Medians with spread, the result rows and their table (console and bench/README.md). */
import { cpus, totalmem } from 'node:os';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : abs >= 1 ? value.toFixed(2) : value.toFixed(3);
}

/** "median (min–max)" over rounds, with a unit. */
export function spread(values: number[], unit = ''): string {
  const suffix = unit ? ` ${unit}` : '';
  if (values.length <= 1) return `${round(values[0] ?? NaN)}${suffix}`;
  return `${round(median(values))}${suffix} (${round(Math.min(...values))}–${round(Math.max(...values))})`;
}

/** One line of the figures table. `pass` is null where the issue sets no target. */
export type Row = { scenario: string; measure: string; value: string; target: string; pass: boolean | null };

export function row(scenario: string, measure: string, value: string, target = '', pass: boolean | null = null): Row {
  return { scenario, measure, value, target, pass };
}

export function verdict(pass: boolean | null): string {
  return pass === null ? '' : pass ? 'PASS' : 'FAIL';
}

/** " [N failed]" when any run had failed requests (refused, timed out, GraphQL errors), else "". */
export function failed(runs: Array<{ failures: number }>): string {
  const total = runs.reduce((sum, run) => sum + run.failures, 0);
  return total > 0 ? ` [${total} failed]` : '';
}

/** "req/s, p50 / p99" of a series of runs, each as median (min–max), and any failures. */
export function figures(runs: Array<{ rps: number; p50: number; p99: number; failures: number }>): string {
  const of = (pick: (run: (typeof runs)[number]) => number, unit = '') => spread(runs.map(pick), unit);
  return `${of((r) => r.rps)} req/s, p50 ${of((r) => r.p50, 'ms')} / p99 ${of((r) => r.p99, 'ms')}${failed(runs)}`;
}

export function markdownTable(rows: Row[]): string {
  const lines = ['| scenario | measure | figure: median (min–max) | target | |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.scenario} | ${r.measure} | ${r.value} | ${r.target} | ${verdict(r.pass)} |`);
  }
  return lines.join('\n');
}

export function consoleTable(rows: Row[]): string {
  const cells = rows.map((r) => [r.scenario, r.measure, r.value, r.target, verdict(r.pass)]);
  const header = ['scenario', 'measure', 'figure: median (min–max)', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const format = (c: string[]) => c.map((cell, i) => cell.padEnd(widths[i])).join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(format)].join('\n');
}

export type Machine = { cpu: string; cores: number; memoryGiB: number; node: string; postgres: string; date: string };

export function describeMachine(postgres: string): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    postgres,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

export function machineLine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; Node ${machine.node}; PostgreSQL ${machine.postgres}; ${machine.date}`;
}
