import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** Damson as a separate process, started from source, the way an operator runs it. */
export const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runDamson(args: string[], env: Record<string, string>, stdin = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

export interface RunningServer {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  exited: Promise<number | null>;
  /**
   * SIGKILL for the server and everything it started. A killed process cannot stop its children, and exiftool's
   * stay-open process would otherwise linger after the test, polling its closed input.
   */
  killAll(): void;
}

export async function startDamson(env: Record<string, string>): Promise<RunningServer> {
  // Its own process group, so killAll reaches the children too.
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { env: { ...process.env, ...env, DAMSON_PORT: '0' }, stdio: 'pipe', detached: true });
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`damson exited with ${code}: ${output}`)));
    // It must announce its address (an info log line) in time; otherwise stop it and say why.
    setTimeout(() => {
      killAll();
      reject(new Error(`damson did not start listening within 60 s: ${output}`));
    }, 60_000).unref();
  });
  return { child, baseUrl, output: () => output, exited, killAll };
}

