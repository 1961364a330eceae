import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isToolAvailable, MediaToolError, runTool } from '../../src/media/tools.js';

const node = process.execPath;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('runTool', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damson-tools-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('resolves with what the program wrote', async () => {
    const output = await runTool(node, ['-e', 'process.stdout.write("out"); process.stderr.write("err")'], { timeoutMs: 10_000 });
    assert.deepEqual(output, { stdout: 'out', stderr: 'err' });
  });

  it('runs the program without a shell, so arguments are passed literally', async () => {
    const tricky = '$(echo injected); `x` | & > ; *';
    const { stdout } = await runTool(node, ['-e', 'process.stdout.write(process.argv[1])', tricky], { timeoutMs: 10_000 });
    assert.equal(stdout, tricky);
  });

  it('runs in the given working directory', async () => {
    const { stdout } = await runTool(node, ['-e', 'process.stdout.write(process.cwd())'], { timeoutMs: 10_000, cwd: dir });
    assert.equal(stdout, dir);
  });

  it('gives the program an already closed stdin, so a tool reading it does not hang', async () => {
    const { stdout } = await runTool('cat', [], { timeoutMs: 5_000 });
    assert.equal(stdout, '');
  });

  it('reports a failing program with the last line of its stderr', async () => {
    const script = 'console.error("some progress"); console.error("Error: the real reason  "); console.error(""); process.exit(3)';
    const error = await runTool(node, ['-e', script], { timeoutMs: 10_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof MediaToolError);
    assert.equal(error.reason, 'failed');
    assert.equal(error.tool, 'node');
    assert.equal(error.message, 'node failed: Error: the real reason');
  });

  it('reports a failing program without stderr by its exit code', async () => {
    const error = await runTool(node, ['-e', 'process.exit(7)'], { timeoutMs: 10_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof MediaToolError);
    assert.equal(error.message, 'node failed: exit code 7');
  });

  it('kills a program that outlives the timeout and rejects quickly with reason "timeout"', async () => {
    const started = Date.now();
    const error = await runTool('sleep', ['5'], { timeoutMs: 200 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    assert.ok(error instanceof MediaToolError);
    assert.equal(error.reason, 'timeout');
    assert.equal(error.tool, 'sleep');
    assert.equal(error.message, 'sleep timed out after 200 ms');
    assert.ok(elapsed >= 190 && elapsed < 2_000, `took ${elapsed} ms`);
  });

  it('leaves no process behind after a timeout, even one that ignores SIGTERM', async () => {
    const pidFile = join(dir, 'pid');
    const script = `process.on("SIGTERM", () => {}); require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`;
    const error = await runTool(node, ['-e', script], { timeoutMs: 1_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof MediaToolError && error.reason === 'timeout');
    const pid = Number(await readFile(pidFile, 'utf8'));
    assert.ok(pid > 0);
    assert.equal(isRunning(pid), false);
  });

  it('reports a program that does not exist as "missing"', async () => {
    const error = await runTool('damson-no-such-tool', ['-v'], { timeoutMs: 1_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof MediaToolError);
    assert.equal(error.reason, 'missing');
    assert.equal(error.tool, 'damson-no-such-tool');
    assert.equal(error.message, 'damson-no-such-tool is not installed');
  });

  it('does not mistake a missing working directory for a missing program', async () => {
    const error = await runTool(node, ['-e', ''], { timeoutMs: 1_000, cwd: join(dir, 'gone') }).catch((e: unknown) => e);
    assert.ok(error instanceof MediaToolError);
    assert.equal(error.reason, 'failed');
    assert.match(error.message, /working directory .*gone does not exist/);
  });

  it('stops a program whose output passes the capture limit', async () => {
    const script = 'const chunk = "x".repeat(1 << 20); for (let i = 0; i < 12; i++) process.stdout.write(chunk);';
    const error = await runTool(node, ['-e', script], { timeoutMs: 20_000 }).catch((e: unknown) => e);
    assert.ok(error instanceof MediaToolError);
    assert.equal(error.reason, 'failed');
    assert.match(error.message, /more than \d+ bytes of output/);
  });
});

describe('isToolAvailable', () => {
  it('finds programs on PATH and by path', async () => {
    assert.equal(await isToolAvailable('sh'), true);
    assert.equal(await isToolAvailable(node), true);
  });

  it('is false for unknown names, directories and the empty string', async () => {
    assert.equal(await isToolAvailable('damson-no-such-tool'), false);
    assert.equal(await isToolAvailable(tmpdir()), false);
    assert.equal(await isToolAvailable(''), false);
  });

  it('gives the same answer from its cache', async () => {
    const first = isToolAvailable('sh');
    assert.equal(isToolAvailable('sh'), first);
    assert.equal(await first, true);
  });
});
