import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { createTestSchema, dropTestSchema } from './helpers/postgres.js';
import { forEachDialect } from './helpers/server.js';
import { runDamson, startDamson } from './helpers/process.js';

async function loginOver(baseUrl: string, username: string, password: string) {
  const response = await fetch(`${baseUrl}/services/login`, { method: 'POST', body: new URLSearchParams({ username, password }) });
  const body = (await response.json()) as { loginSuccess: boolean; csrfToken?: string };
  const cookie = response.headers.get('set-cookie')?.split(';')[0];
  return { ...body, cookie };
}

await forEachDialect((dialect) => {
  let env: Record<string, string>;
  let schema: string | undefined;
  before(async () => {
    env = { DAMSON_DATA_DIR: mkdtempSync(join(tmpdir(), 'damson-cli-')), DAMSON_LOG_LEVEL: 'info' };
    if (dialect === 'postgres') {
      schema = `damson_cli_${process.pid}_${Date.now()}`;
      env.DAMSON_DATABASE_URL = await createTestSchema(schema);
    }
  });
  after(async () => {
    rmSync(env.DAMSON_DATA_DIR!, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('first start creates admin with a generated password shown once; later starts do not', async () => {
    const first = await startDamson(env);
    try {
      const match = /generated password:\s+(\S+)/.exec(first.output());
      assert.ok(match, first.output());
      const password = match[1]!;
      assert.ok(password.length >= 20);
      assert.equal((await loginOver(first.baseUrl, 'admin', password)).loginSuccess, true);
      assert.ok(!first.output().split('\n').some((line) => line.startsWith('{') && line.includes(password)), 'not in the JSON log');
    } finally {
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);
    }
    const second = await startDamson(env);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
    assert.doesNotMatch(second.output(), /generated password/);
  });

  it('user add / list / passwd / disable / enable, with the password on standard input', async () => {
    const added = await runDamson(['user', 'add', 'Alice', '--admin', '--full-name', 'Alice Example', '--email', 'alice@example.com', '--groups', 'editors,legal'], env, 'alice password 1\n');
    assert.equal(added.code, 0, added.stderr);
    const duplicate = await runDamson(['user', 'add', 'alice'], env, 'another password\n');
    assert.equal(duplicate.code, 2);
    assert.match(duplicate.stderr, /already exists/);
    const weak = await runDamson(['user', 'add', 'bob'], env, 'short\n');
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /at least 8/);

    const list = await runDamson(['user', 'list'], env);
    const alice = list.stdout.split('\n').find((line) => line.startsWith('Alice\t'));
    assert.ok(alice, list.stdout);
    assert.deepEqual(alice.split('\t'), ['Alice', 'Alice Example', 'alice@example.com', 'editors,legal', 'enabled,ROLE_SUPERUSER,ROLE_USER']);

    const server = await startDamson(env);
    try {
      const session = await loginOver(server.baseUrl, 'alice', 'alice password 1');
      assert.equal(session.loginSuccess, true);
      const profile = (await (await fetch(`${server.baseUrl}/services/profile`, { headers: { cookie: session.cookie! } })).json()) as Record<string, unknown>;
      assert.deepEqual(profile.groups, ['editors', 'legal']);

      assert.equal((await runDamson(['user', 'passwd', 'alice'], env, 'alice password 2\n')).code, 0);
      assert.equal((await fetch(`${server.baseUrl}/services/ping`, { headers: { cookie: session.cookie! } })).status, 401, 'passwd ended the session');
      assert.equal((await loginOver(server.baseUrl, 'alice', 'alice password 1')).loginSuccess, false);
      const again = await loginOver(server.baseUrl, 'alice', 'alice password 2');
      assert.equal(again.loginSuccess, true);

      assert.equal((await runDamson(['user', 'disable', 'alice'], env)).code, 0);
      assert.equal((await fetch(`${server.baseUrl}/services/ping`, { headers: { cookie: again.cookie! } })).status, 401, 'disable ended the session');
      assert.equal((await loginOver(server.baseUrl, 'alice', 'alice password 2')).loginSuccess, false);
      assert.match((await runDamson(['user', 'list'], env)).stdout, /^Alice\t.*\tdisabled,/m);
      assert.equal((await runDamson(['user', 'enable', 'alice'], env)).code, 0);
      assert.equal((await loginOver(server.baseUrl, 'alice', 'alice password 2')).loginSuccess, true);
      assert.equal((await runDamson(['user', 'passwd', 'nobody'], env, 'whatever pw\n')).code, 2);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('SIGTERM lets a request in flight finish, then exits 0', async () => {
    const server = await startDamson({ ...env, DAMSON_ADMIN_PASSWORD: 'ignored-admin-exists' });
    const session = await loginOver(server.baseUrl, 'alice', 'alice password 2');
    assert.equal(session.loginSuccess, true);
    // A POST whose body arrives only after the signal.
    const { request } = await import('node:http');
    const url = new URL(`${server.baseUrl}/services/profile`);
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { cookie: session.cookie!, 'x-csrf-token': session.csrfToken!, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '5' } },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode!));
        },
      );
      req.on('error', reject);
      req.write('uid');
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end('=1'), 300);
      }, 100);
    });
    assert.equal(await inFlight, 200);
    assert.equal(await server.exited, 0);
  });

  it('refuses bad configuration with a clear message and exit code 2', async () => {
    const result = await runDamson(['serve'], { ...env, DAMSON_PORT: 'eighty', DAMSON_SESSION_MAX_HOURS: '-1' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /DAMSON_PORT must be a whole number/);
    assert.match(result.stderr, /DAMSON_SESSION_MAX_HOURS/);
  });
});
