import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listen } from '../helpers/http-client.js';
import { apiLogin, createUser, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

/** What a raw socket saw: everything the server wrote, and when it closed the connection (ms after opening). */
interface Outcome {
  answer: string;
  closedAfterMs: number;
}

/**
 * Clients that open a connection and then trickle or stall must not hold the server beyond the configured
 * timeouts (here 2 s idle, 4 s per request), and meanwhile everyone else is served.
 */
describe('slow clients', () => {
  let server: TestServer;
  let port: number;
  let token: string;
  before(async () => {
    server = await startServer('sqlite', { DAMSON_IDLE_TIMEOUT_SECONDS: '2', DAMSON_REQUEST_TIMEOUT_SECONDS: '4' });
    port = Number(new URL(await listen(server)).port);
    const { username } = await createUser(server);
    token = await apiLogin(server, username, PASSWORD);
  });
  after(() => server.close());

  const open = (drive: (socket: Socket) => Promise<void>): Promise<Outcome> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk));
      socket.on('error', () => {}); // a reset is one way of being closed
      socket.on('close', () => resolve({ answer, closedAfterMs: Date.now() - started }));
      socket.on('connect', () => drive(socket).catch(reject));
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`the server held a slow client for 20 s; it wrote: ${answer}`));
      }, 20_000).unref();
    });
  const uploadHead = (length: number) =>
    `POST /services/create HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
    `Content-Type: multipart/form-data; boundary=x\r\nContent-Length: ${length}\r\n\r\n`;
  const pingWorks = async () => {
    const started = Date.now();
    const response = await fetch(`http://127.0.0.1:${port}/services/ping`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    return Date.now() - started;
  };

  it('a client that sends headers and then nothing is cut off after the idle timeout', async () => {
    const outcome = open(async (socket) => {
      socket.write(uploadHead(1_000_000));
      socket.write('--x\r\nContent-Disposition: form-data; name="folderPath"\r\n\r\n/Slow\r\n');
    });
    assert.ok((await pingWorks()) < 1000, 'others are served meanwhile');
    const { closedAfterMs } = await outcome;
    assert.ok(closedAfterMs >= 1500 && closedAfterMs < 8000, `closed after ${closedAfterMs} ms`);
  });

  it('a body trickling in (never idle) is stopped by the request timeout with a JSON 408', async () => {
    let stop = false;
    const outcome = open(async (socket) => {
      socket.write(uploadHead(1_000_000));
      socket.write('--x\r\nContent-Disposition: form-data; name="Filedata"; filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n');
      while (!stop && !socket.destroyed) {
        socket.write('a');
        await sleep(300);
      }
    });
    assert.ok((await pingWorks()) < 1000, 'others are served meanwhile');
    const { answer, closedAfterMs } = await outcome;
    stop = true;
    assert.ok(closedAfterMs >= 3500 && closedAfterMs < 10_000, `closed after ${closedAfterMs} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /\{"errorcode":408,"message":"[^"]+"\}/);
    // The half-received file was never stored.
    await sleep(200);
    assert.deepEqual(readdirSync(join(server.dataDir, 'tmp')), []);
    assert.equal((await server.app.damson.database.db.selectFrom('assets').select('id').execute()).length, 0);
  });

  it('headers trickling in are refused after the idle timeout', async () => {
    const { answer, closedAfterMs } = await open(async (socket) => {
      for (const piece of 'GET /services/ping HTTP/1.1\r\nHost: localhost\r\nX-Slow: '.split('')) {
        if (socket.destroyed) return;
        socket.write(piece);
        await sleep(200);
      }
      while (!socket.destroyed) {
        socket.write('z');
        await sleep(200);
      }
    });
    assert.ok(closedAfterMs < 8000, `closed after ${closedAfterMs} ms`);
    if (answer) assert.match(answer, /^HTTP\/1\.1 408 /);
  });
});
