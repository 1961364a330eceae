import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { killGroup, trackChild } from './cleanup.js';

export interface RunningRedis {
  url: string;
  pid: number;
  /** SIGTERM (it keeps nothing on disk, so it exits at once), SIGKILL if it has not exited in 5 s. Safe to call twice. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (free when asked; taken by whoever binds it first). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A private `redis-server` for one benchmark, on a free loopback port, keeping nothing on disk (`--save ''`,
 * `--appendonly no`, working directory `dir`), so that the machine's shared Redis is neither used nor flushed.
 */
export async function startRedis(dir: string, timeoutMs = 10_000): Promise<RunningRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  trackChild(child);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const started = performance.now();
  for (;;) {
    const failure = await Promise.race([spawnFailed, sleep(0).then(() => undefined)]);
    if (failure) throw new Error(`could not start redis-server: ${failure.message}`);
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}:\n${output}`);
    if (await answersPing(port)) return { url: `redis://127.0.0.1:${port}/0`, pid: child.pid!, stop };
    if (performance.now() - started > timeoutMs) {
      await stop();
      throw new Error(`redis-server did not answer on port ${port} within ${timeoutMs / 1000} s:\n${output}`);
    }
    await sleep(50);
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}
