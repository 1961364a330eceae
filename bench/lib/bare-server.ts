/**
 * The baseline of the throughput benchmark: a bare Fastify server, in a process of its own, answering fixed JSON
 * bodies on GET routes with no authentication, no hooks and no database. Run as
 * `node --import tsx bench/lib/bare-server.ts <answers.json> [log level]`, where answers.json maps a path
 * (`/services/ping`) to the JSON body to answer (the query string is ignored); it prints
 * "Server listening at http://127.0.0.1:<port>".
 *
 * The log level is Damson's (`info` by default): Fastify then logs every request as Damson does (two JSON lines on
 * stdout), so what Damson costs beyond this server is its own work, not the logging both do.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const answersPath = process.argv[2];
if (!answersPath) throw new Error('usage: bare-server.ts <answers.json> [log level]');
const level = process.argv[3] ?? 'info';
const answers = JSON.parse(readFileSync(answersPath, 'utf8')) as Record<string, unknown>;

const app = Fastify({ logger: level === 'silent' ? false : { level } });
for (const [path, body] of Object.entries(answers)) app.get(path, async () => body);

const address = await app.listen({ host: '127.0.0.1', port: 0 });
// Fastify logs this line itself at info; said here too so that any log level works with startListening.
process.stdout.write(`Server listening at ${address}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
