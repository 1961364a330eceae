import { cpus, release, totalmem, type as osType } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One measured figure, with the baseline it is judged against where there is one. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Decimals shown; 1 unless said. */
  digits?: number;
  /** Shown instead of the formatted value, for figures that are not numbers ("yes"). */
  display?: string;
  /** The same quantity for the reference implementation, measured in the same run. */
  baseline?: number;
  /** value ÷ baseline (or as the benchmark defines it); shown as "×0.93". */
  ratio?: number;
  /** Human-readable target such as "≥ 0.8× baseline" and whether this run met it. */
  target?: { text: string; met: boolean };
}

/** What every benchmark hands to the runner and the report. */
export interface BenchmarkReport {
  id: string;
  title: string;
  /** What was measured and how, in a sentence or two. */
  description: string;
  /** What the baseline column is. */
  baseline: string;
  /** Settings of this run (file count, size, database …). */
  parameters: Record<string, string | number>;
  figures: Figure[];
  /** Further tables printed after the figures (details per case); never read as targets. */
  tables?: ReportTable[];
  /** Observations worth keeping next to the numbers (stage timings, anomalies). */
  notes: string[];
  /** Shell command that reproduces this benchmark alone. */
  command: string;
  seconds: number;
}

export interface ReportTable {
  title: string;
  headers: string[];
  rows: string[][];
}

export function formatNumber(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatValue(value: number | undefined, unit: string, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return `${formatNumber(value, digits)}${unit ? ` ${unit}` : ''}`;
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '–' : `×${formatNumber(ratio, 2)}`;
}

export function figureCells(figure: Figure): string[] {
  const digits = figure.digits ?? 1;
  return [
    figure.name,
    figure.display ?? formatValue(figure.value, figure.unit, digits),
    formatValue(figure.baseline, figure.unit, digits),
    formatRatio(figure.ratio),
    figure.target?.text ?? '–',
    figure.target ? (figure.target.met ? 'yes' : '**no**') : '–',
  ];
}

export const FIGURE_HEADERS = ['figure', 'value', 'baseline', 'ratio', 'target', 'met?'];

/** A report as plain text for the terminal. */
export function printReport(report: BenchmarkReport): void {
  const rows = [FIGURE_HEADERS, ...report.figures.map((figure) => figureCells(figure).map((cell) => cell.replace(/\*\*/g, '')))];
  const widths = FIGURE_HEADERS.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  const out = [
    '',
    `== ${report.title} (${formatNumber(report.seconds, 0)} s) ==`,
    `parameters: ${Object.entries(report.parameters).map(([name, value]) => `${name}=${value}`).join(', ')}`,
    `baseline: ${report.baseline}`,
    line(rows[0]!),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.slice(1).map(line),
    ...(report.tables ?? []).flatMap((extra) => {
      const cells = [extra.headers, ...extra.rows].map((row) => row.map((cell) => cell.replace(/\*\*|`/g, '')));
      const columnWidths = extra.headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
      const extraLine = (row: string[]) => row.map((cell, column) => cell.padEnd(columnWidths[column]!)).join('  ');
      return ['', `${extra.title}:`, extraLine(cells[0]!), extraLine(columnWidths.map((width) => '-'.repeat(width))), ...cells.slice(1).map(extraLine)];
    }),
    ...report.notes.map((note) => `  * ${note}`),
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Facts about the machine, for the report header. */
export function machineFacts(): Record<string, string> {
  const cores = cpus();
  const models = [...new Set(cores.map((cpu) => cpu.model.trim()))];
  return {
    CPU: `${models.join(', ') || 'unknown'} × ${cores.length}`,
    Memory: `${formatNumber(totalmem() / 1024 ** 3, 1)} GiB`,
    Node: process.version,
    OS: `${osType()} ${release()} (${process.platform}/${process.arch})`,
    Date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

/** The value at fraction p (0..1) of the sorted values, by linear interpolation; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * p;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/** Reads a whole-number setting such as BENCH_INGEST_COUNT, refusing nonsense instead of guessing. */
export function envInteger(name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) throw new Error(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  return value;
}

/** Runs `work` over `items` with at most `concurrency` at once, in order of the list. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/** A point in time after which a benchmark gives up; every wait checks it. */
export class Deadline {
  readonly at: number;
  constructor(
    readonly seconds: number,
    private readonly what: string,
  ) {
    this.at = performance.now() + seconds * 1000;
  }

  remainingMs(): number {
    return Math.max(0, Math.ceil(this.at - performance.now()));
  }

  /** An AbortSignal that fires at the deadline (or after `capMs`, if sooner). */
  signal(capMs = Number.POSITIVE_INFINITY): AbortSignal {
    return AbortSignal.timeout(Math.max(1, Math.min(capMs, this.remainingMs())));
  }

  check(): void {
    if (this.remainingMs() === 0) throw this.error();
  }

  error(): Error {
    return new Error(`${this.what} did not finish within ${this.seconds} s`);
  }
}

/** Settles like `work`, or rejects once the deadline passes (the work itself is left to finish on its own). */
export async function beforeDeadline<T>(deadline: Deadline, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadline.error()), deadline.remainingMs());
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether this module is the script node was started with (`node --import tsx bench/x.ts`). */
export function isMainModule(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  return moduleUrl === pathToFileURL(resolve(script)).href;
}

/**
 * When the benchmark file `moduleUrl` is the script being run (not imported by bench/run.ts or a test): runs it and
 * prints its reports, or says why it failed and sets exit code 1.
 */
export async function runIfMain(moduleUrl: string, name: string, run: () => Promise<BenchmarkReport[]>): Promise<void> {
  if (!isMainModule(moduleUrl)) return;
  try {
    for (const report of await run()) printReport(report);
  } catch (error) {
    process.stderr.write(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}

export const MiB = 1024 * 1024;

/**
 * The three memory rows of a server under some load (`during` says which): its peak VmRSS against its settled
 * VmRSS, the growth between them against a target, and its VmHWM afterwards against the VmHWM before.
 */
export function rssFigures(during: string, rss: { baseline: number; peak: number; hwmBefore: number; hwmAfter: number }, targetGrowthBytes: number): Figure[] {
  const growth = rss.peak - rss.baseline;
  return [
    { name: `Peak VmRSS during the ${during}`, value: rss.peak / MiB, unit: 'MiB', baseline: rss.baseline / MiB, ratio: rss.peak / rss.baseline },
    {
      name: 'RSS growth (peak − baseline)',
      value: growth / MiB,
      unit: 'MiB',
      target: { text: `< ${formatNumber(targetGrowthBytes / MiB, 0)} MiB`, met: growth < targetGrowthBytes },
    },
    { name: `VmHWM after the ${during}`, value: rss.hwmAfter / MiB, unit: 'MiB', baseline: rss.hwmBefore / MiB, ratio: rss.hwmAfter / rss.hwmBefore },
  ];
}
