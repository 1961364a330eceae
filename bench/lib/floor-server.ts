/**
 * The floor: the least an HTTP file server in Node can do for the requests the benchmarks time, as a baseline
 * for Damson doing them. Run as a child process (`node --import tsx bench/lib/floor-server.ts <dir>`); it prints
 * "Server listening at http://127.0.0.1:<port>".
 *
 * - POST (any path), multipart: the file part is parsed with the parser Damson uses (@fastify/busboy, under
 *   @fastify/multipart), hashed with SHA-256 while it streams to a temporary file, fsynced, renamed into place
 *   (and the directory fsynced), as Damson's blob store does; the answer is `{"id": "<sha256>"}`.
 * - GET /files/<sha256>: that file, streamed with a content length, as Damson's `/file/{id}` does; a single
 *   `Range: bytes=<first>-[<last>]` is answered with 206 and those bytes (read from a stream that starts there).
 *
 * No framework, authentication, metadata extraction or database: whatever Damson costs beyond this is its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Busboy, type BusboyHeaders } from '@fastify/busboy';

const root = process.argv[2];
if (!root) throw new Error('usage: floor-server.ts <dir>');
const tmpDir = join(root, 'tmp');
const fileDir = join(root, 'files');
await mkdir(tmpDir, { recursive: true });
await mkdir(fileDir, { recursive: true });

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function receive(request: IncomingMessage): Promise<string> {
  const stored: Array<Promise<string>> = [];
  await new Promise<void>((resolve, reject) => {
    const parser = Busboy({ headers: request.headers as BusboyHeaders });
    parser.on('file', (_field: string, file: Readable) => {
      const tmp = join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
      const hash = createHash('sha256');
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      stored.push(
        pipeline(file, meter, createWriteStream(tmp, { flags: 'wx' })).then(async () => {
          const key = hash.digest('hex');
          await fsync(tmp);
          await rename(tmp, join(fileDir, key));
          await fsync(fileDir);
          return key;
        }),
      );
    });
    parser.on('finish', resolve);
    parser.on('error', reject);
    request.on('error', reject);
    request.pipe(parser);
  });
  const [key] = await Promise.all(stored);
  if (!key) throw new Error('no file part');
  return key;
}

async function serve(key: string, range: string | undefined, response: ServerResponse): Promise<void> {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error('bad key');
  const path = join(fileDir, key);
  const { size } = await stat(path);
  const match = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
  if (!match) {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    await pipeline(createReadStream(path), response);
    return;
  }
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  if (start > end) throw new Error('unsatisfiable range');
  response.writeHead(206, { 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${size}` });
  await pipeline(createReadStream(path, { start, end }), response);
}

const server = createServer((request, response) => {
  const fail = (error: unknown) => {
    if (response.headersSent) return response.destroy();
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ errorcode: 400, message: (error as Error).message }));
  };
  if (request.method === 'GET' && request.url?.startsWith('/files/')) {
    serve(request.url.slice('/files/'.length), request.headers.range, response).catch(fail);
    return;
  }
  receive(request).then((key) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: key, metadata: { sha256: key } }));
  }, fail);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`Server listening at http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
