import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, delimiter, join } from 'node:path';

export type MediaToolFailure = 'timeout' | 'failed' | 'missing';

/** An external program (ffmpeg, pdftoppm, ...) that could not do its job; `reason` says whether retrying may help. */
export class MediaToolError extends Error {
  constructor(
    readonly tool: string,
    readonly reason: MediaToolFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MediaToolError';
  }
}

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Enough for ffprobe's JSON of any sane file; a tool printing more is misbehaving and is stopped. */
const MAX_CAPTURED_BYTES = 10 * 1024 * 1024;
/** Long enough to keep a useful error message, short enough for a log line. */
const MAX_MESSAGE_CHARS = 500;

/**
 * Runs `command` with `args` directly (no shell, so no quoting or injection concerns) and resolves with its output.
 * The process is SIGKILLed once `timeoutMs` passes: media tools stuck on a hostile file do not react to SIGTERM
 * in any useful time, and a stuck job must free its worker.
 */
export function runTool(command: string, args: string[], options: { timeoutMs: number; cwd?: string }): Promise<ToolOutput> {
  const tool = basename(command);
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: ExecError | null, stdout: string, stderr: string): void => {
      clearTimeout(timer);
      if (timedOut) reject(new MediaToolError(tool, 'timeout', `${tool} timed out after ${options.timeoutMs} ms`));
      else if (!error) resolve({ stdout, stderr });
      else void explain(tool, error, stderr, options.cwd).then(reject);
    };
    try {
      const child = execFile(
        command,
        args,
        { cwd: options.cwd, encoding: 'utf8', maxBuffer: MAX_CAPTURED_BYTES, killSignal: 'SIGKILL', windowsHide: true },
        finish,
      );
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs);
      // Tools that read commands from stdin (ffmpeg does) must see end-of-file rather than wait for a keypress.
      child.stdin?.end();
    } catch (error) {
      // execFile throws synchronously only for arguments it cannot pass on, such as a NUL byte.
      reject(new MediaToolError(tool, 'failed', `${tool} could not be started: ${(error as Error).message}`, { cause: error }));
    }
  });
}

type ExecError = Error & { code?: unknown; signal?: unknown };

async function explain(tool: string, error: ExecError, stderr: string, cwd: string | undefined): Promise<MediaToolError> {
  if (error.code === 'ENOENT') {
    // spawn reports a missing working directory with the same code as a missing program.
    if (cwd !== undefined && !(await isDirectory(cwd))) {
      return new MediaToolError(tool, 'failed', `${tool} failed: working directory ${cwd} does not exist`, { cause: error });
    }
    return new MediaToolError(tool, 'missing', `${tool} is not installed`, { cause: error });
  }
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
    return new MediaToolError(tool, 'failed', `${tool} failed: it wrote more than ${MAX_CAPTURED_BYTES} bytes of output`, { cause: error });
  }
  return new MediaToolError(tool, 'failed', `${tool} failed: ${describeFailure(error, stderr)}`, { cause: error });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function describeFailure(error: ExecError, stderr: string): string {
  const lastLine = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  if (lastLine) return lastLine.slice(0, MAX_MESSAGE_CHARS);
  if (typeof error.signal === 'string') return `killed by ${error.signal}`;
  if (typeof error.code === 'number') return `exit code ${error.code}`;
  return error.message.slice(0, MAX_MESSAGE_CHARS);
}

const availability = new Map<string, Promise<boolean>>();

/**
 * Whether `command` resolves to an executable file (a path, or a name looked up on PATH), without running it:
 * the tools disagree on how to print a version, and running one just to see it exists costs a process.
 * The answer is cached for the life of the process.
 */
export function isToolAvailable(command: string): Promise<boolean> {
  let answer = availability.get(command);
  if (!answer) {
    answer = findExecutable(command);
    availability.set(command, answer);
  }
  return answer;
}

async function findExecutable(command: string): Promise<boolean> {
  if (command === '') return false;
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, command));
  for (const candidate of candidates) {
    if (await isExecutableFile(candidate)) return true;
  }
  return false;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
