import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './report.js';

/** Linux reports CPU times in clock ticks; USER_HZ is 100 on every mainstream kernel build. */
const TICKS_PER_SECOND = 100;

/** VmRSS / VmHWM of a process in bytes, from /proc/<pid>/status; undefined once the process is gone. */
export function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

interface Stat {
  ppid: number;
  cpuSeconds: number;
}

function statOf(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) used so far by a process and all its live descendants (Damson's exiftool
 * processes, ffmpeg …). Descendants that already exited are not counted.
 */
export function treeCpuSeconds(rootPid: number): number {
  const stats = new Map<number, Stat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  const inTree = new Set([rootPid]);
  // Parents usually have smaller pids, but not always (pid wrap): repeat until nothing is added.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, stat] of stats) {
      if (!inTree.has(pid) && inTree.has(stat.ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const pid of inTree) total += stats.get(pid)?.cpuSeconds ?? 0;
  return total;
}

/** CPU seconds used by this process (all its threads, libvips' included). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU seconds (user + system, all threads) used so far by one process; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  return statOf(pid)?.cpuSeconds;
}

/** The machine's CPU time so far, summed over its cores, in seconds: all of it and the busy part (not idle or iowait). */
export function machineCpuSeconds(): { total: number; busy: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { total: total / TICKS_PER_SECOND, busy: (total - idle) / TICKS_PER_SECOND };
}

/** memoryOf, or an error once the process is gone. */
export function readMemory(pid: number): { rss: number; hwm: number } {
  const memory = memoryOf(pid);
  if (!memory) throw new Error(`the server (pid ${pid}) is gone`);
  return memory;
}

/** A process's memory at rest: after a 1 s pause, VmRSS as the median of five readings 100 ms apart, and VmHWM. */
export async function settledMemory(pid: number): Promise<{ rss: number; hwm: number }> {
  await sleep(1000);
  const readings: number[] = [];
  for (let index = 0; index < 5; index++) {
    readings.push(readMemory(pid).rss);
    await sleep(100);
  }
  return { rss: percentile(readings, 0.5), hwm: readMemory(pid).hwm };
}

/** The peaks of one phase: the server's VmRSS, and this process's (the client's) RSS at the start and at most. */
export interface PhasePeaks {
  server: number;
  clientStart: number;
  client: number;
}

/**
 * Reads a server's VmRSS (and this process's own RSS) every `intervalMs` while a phase is open, keeping the peaks.
 * The timer shares this process's event loop with the transfers, so the longest gap between readings is kept too
 * (VmHWM covers the gaps).
 */
export class MemorySampler {
  samples = 0;
  maxGapMs = 0;
  private open = false;
  private peaks: PhasePeaks = { server: 0, clientStart: 0, client: 0 };
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    readonly intervalMs: number,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  begin(): void {
    const rss = process.memoryUsage.rss();
    this.peaks = { server: 0, clientStart: rss, client: rss };
    this.last = performance.now();
    this.open = true;
  }

  end(): PhasePeaks {
    this.sample();
    this.open = false;
    return this.peaks;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const now = performance.now();
    this.maxGapMs = Math.max(this.maxGapMs, now - this.last);
    this.last = now;
    if (!this.open) return;
    this.peaks.client = Math.max(this.peaks.client, process.memoryUsage.rss());
    const memory = memoryOf(this.pid);
    if (!memory) return;
    this.samples++;
    this.peaks.server = Math.max(this.peaks.server, memory.rss);
  }
}
