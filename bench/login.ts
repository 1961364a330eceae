/**
 * Logins under load: login latency while 50 logins run at once, and whether other requests wait meanwhile.
 * Password hashing (argon2id) runs off the event loop, so a ping during a burst of logins should stay fast.
 *
 *   node --import tsx bench/login.ts
 */
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDirectory, trackDirectory } from './lib/cleanup.js';
import { apiLogin, benchPassword, type RunningDamson, startDamson } from './lib/damson.js';
import { type BenchmarkReport, envInteger, formatNumber, percentile, runIfMain } from './lib/report.js';

export interface LoginResult {
  logins: number;
  loginMs: number[];
  pingAloneMs: number[];
  pingDuringMs: number[];
  failures: number;
  report: BenchmarkReport;
}

/** A ping during the burst may take at most this many times its p99 alone (and 50 ms more for noise). */
const PING_RATIO_TARGET = 3;

export async function runLoginBenchmark(): Promise<LoginResult> {
  const logins = envInteger('BENCH_LOGIN_CONCURRENT', 50, 1, 1000);
  const rounds = envInteger('BENCH_LOGIN_ROUNDS', 4, 1, 100);
  const started = performance.now();
  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-login-')));
  let server: RunningDamson | undefined;
  try {
    const password = benchPassword();
    // The per-account and per-address throttles count failures only; every login here succeeds.
    server = await startDamson({ dataDir: join(root, 'data'), adminPassword: password });
    const { baseUrl } = server;
    const token = await apiLogin(baseUrl, 'admin', password);
    const ping = async () => {
      const start = performance.now();
      const response = await fetch(`${baseUrl}/services/ping`, { headers: { authorization: `Bearer ${token}` } });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`ping answered ${response.status}`);
      return performance.now() - start;
    };
    const pingAloneMs: number[] = [];
    for (let n = 0; n < 300; n++) {
      pingAloneMs.push(await ping());
      await sleep(2);
    }
    const loginMs: number[] = [];
    const pingDuringMs: number[] = [];
    let failures = 0;
    for (let round = 0; round < rounds; round++) {
      let burstDone = false;
      const pinger = (async () => {
        while (!burstDone) {
          pingDuringMs.push(await ping());
          await sleep(5);
        }
      })();
      await Promise.all(
        Array.from({ length: logins }, async () => {
          const start = performance.now();
          const response = await fetch(`${baseUrl}/services/login`, { method: 'POST', body: new URLSearchParams({ username: 'admin', password }) });
          const body = (await response.json()) as { loginSuccess?: boolean };
          if (response.status !== 200 || !body.loginSuccess) failures += 1;
          loginMs.push(performance.now() - start);
        }),
      );
      burstDone = true;
      await pinger;
    }
    await server.stop();
    server = undefined;
    const result = { logins, loginMs, pingAloneMs, pingDuringMs, failures };
    return { ...result, report: loginReport(result, rounds, (performance.now() - started) / 1000) };
  } finally {
    await server?.stop();
    await removeDirectory(root);
  }
}

function loginReport(result: Omit<LoginResult, 'report'>, rounds: number, seconds: number): BenchmarkReport {
  const p = (values: number[], q: number) => percentile(values, q);
  const aloneP99 = p(result.pingAloneMs, 0.99);
  const duringP99 = p(result.pingDuringMs, 0.99);
  const met = duringP99 <= aloneP99 * PING_RATIO_TARGET + 50;
  return {
    id: 'login',
    title: `Logins under load: ${result.logins} at once`,
    description:
      `${rounds} bursts of ${result.logins} simultaneous POST /services/login (argon2id, m=19456 KiB, t=2) against one Damson process on SQLite, ` +
      'while another client sends GET /services/ping (Bearer) one after another.',
    baseline: 'The same pings with no login running (300 of them, before the bursts).',
    parameters: { BENCH_LOGIN_CONCURRENT: result.logins, BENCH_LOGIN_ROUNDS: rounds },
    figures: [
      { name: 'Login latency in a burst, p50', value: p(result.loginMs, 0.5), unit: 'ms', digits: 0 },
      { name: 'Login latency in a burst, p99', value: p(result.loginMs, 0.99), unit: 'ms', digits: 0 },
      { name: 'Ping during the bursts, p50', value: p(result.pingDuringMs, 0.5), unit: 'ms', baseline: p(result.pingAloneMs, 0.5), ratio: p(result.pingDuringMs, 0.5) / p(result.pingAloneMs, 0.5) },
      {
        name: 'Ping during the bursts, p99',
        value: duringP99,
        unit: 'ms',
        baseline: aloneP99,
        ratio: duringP99 / aloneP99,
        target: { text: `≤ ×${PING_RATIO_TARGET} + 50 ms`, met },
      },
      { name: 'Failed logins', value: result.failures, unit: '', digits: 0, target: { text: '0', met: result.failures === 0 } },
    ],
    notes: [
      `${result.loginMs.length} logins and ${result.pingDuringMs.length} pings during the bursts. Damson hashes at most (cores − 1) passwords at once ` +
        `(${Math.max(1, availableParallelism() - 1)} here) and queues the rest, so a burst's latency grows with its size while a core stays free for everything else; the ping shows that.`,
      `Ping alone: p50 ${formatNumber(p(result.pingAloneMs, 0.5), 2)} ms, p99 ${formatNumber(aloneP99, 2)} ms.`,
    ],
    command: `BENCH_LOGIN_CONCURRENT=${result.logins} BENCH_LOGIN_ROUNDS=${rounds} node --import tsx bench/login.ts`,
    seconds,
  };
}

await runIfMain(import.meta.url, 'login benchmark', async () => [(await runLoginBenchmark()).report]);
