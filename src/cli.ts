import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { systemClock } from './lib/clock.js';
import { DamsonError } from './lib/errors.js';
import pino from 'pino';
import { StorageCheck } from './assets/storage-check.js';
import { RENDER_JOB } from './renditions/rendition-service.js';
import { createBlobStore, createJobQueue, createServices, openSharedStores } from './services.js';
import { DAMSON_VERSION } from './version.js';

const USAGE = `Usage: damson <command>

  serve                                   start the server (the default)
  migrate                                 bring the database schema up to date and exit
  user add NAME [--admin] [--full-name T] [--email E] [--groups a,b]
                                          add a user; the password is read from standard input
  user passwd NAME                        set a new password (from standard input); ends the user's sessions
  user disable NAME                       disable a user; ends the user's sessions and API tokens
  user enable NAME                        enable a disabled user
  user list                               list users
  fsck [--repair]                         check that the database and the file store agree: report files no
                                          asset uses and assets whose files are gone; --repair removes the
                                          former (older than an hour) and makes missing previews again
  version                                 print the version

Configuration comes from DAMSON_* environment variables (see README).`;

/** Runs one command line; resolves to the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(loadConfig());
      case 'migrate':
        await (await openDatabase(loadConfig())).close();
        console.log('Database is up to date.');
        return 0;
      case 'user':
        return await userCommand(rest, loadConfig());
      case 'fsck':
        return await fsck(rest, loadConfig());
      case 'version':
      case '--version':
        console.log(DAMSON_VERSION);
        return 0;
      case 'help':
      case '--help':
        console.log(USAGE);
        return 0;
      default:
        console.error(`Unknown command "${command}".\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DamsonError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

async function serve(config: Config): Promise<number> {
  const app = await buildApp({ config });
  const created = await app.damson.users.ensureInitialAdmin(config.adminPassword);
  if (created?.generatedPassword) {
    // Shown once, on the terminal only: it is never written to the log stream.
    process.stdout.write(
      `\nCreated the first user "admin" with the generated password:\n\n    ${created.generatedPassword}\n\n` +
        `Change it with: damson user passwd admin\n\n`,
    );
  } else if (created) {
    app.log.info('created the first user "admin" with DAMSON_ADMIN_PASSWORD');
  }
  if (config.publicUrl?.startsWith('https:') && config.trustProxy === false) {
    app.log.warn('DAMSON_PUBLIC_URL is https but DAMSON_TRUST_PROXY is not set: cookies are marked Secure, and client addresses are the proxy\'s');
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      app.log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    closing = true;
    app.log.info(`${signal}: finishing requests in flight, then stopping`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  return await new Promise<number>(() => {});
}

async function userCommand(args: string[], config: Config): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      admin: { type: 'boolean', default: false },
      'full-name': { type: 'string' },
      email: { type: 'string' },
      groups: { type: 'string' },
    },
  });
  const name = positionals[0];
  if (action !== 'list' && !name) {
    console.error(USAGE);
    return 2;
  }
  const database = await openDatabase(config);
  // With Redis, sessions live there: a password change or a disabled account must end them there too.
  const shared = await openSharedStores(config);
  try {
    const { users } = createServices(database, config, systemClock, shared);
    switch (action) {
      case 'add': {
        const password = await readPassword();
        await users.addUser({
          username: name!,
          password,
          admin: values.admin,
          fullName: values['full-name'],
          email: values.email,
          groups: values.groups?.split(','),
        });
        console.log(`Added user "${name}".`);
        return 0;
      }
      case 'passwd':
        await users.changePassword(name!, await readPassword());
        console.log(`Changed the password of "${name}"; their sessions have ended.`);
        return 0;
      case 'disable':
        await users.setEnabled(name!, false);
        console.log(`Disabled "${name}"; their sessions and API tokens have ended.`);
        return 0;
      case 'enable':
        await users.setEnabled(name!, true);
        console.log(`Enabled "${name}".`);
        return 0;
      case 'list': {
        for (const user of await users.list()) {
          const flags = [user.enabled ? 'enabled' : 'disabled', ...user.authorities].join(',');
          console.log([user.username, user.fullName ?? '', user.email ?? '', user.groups.join(','), flags].join('\t'));
        }
        return 0;
      }
      default:
        console.error(`Unknown user command "${action ?? ''}".\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await shared.close();
    await database.close();
  }
}

/** `damson fsck [--repair]`: exit 0 when the database and the blob store agree (after repair), 1 when not. */
async function fsck(args: string[], config: Config): Promise<number> {
  const { values } = parseArgs({ args, options: { repair: { type: 'boolean', default: false } } });
  const database = await openDatabase(config);
  const blobs = createBlobStore(config, systemClock);
  // Only to queue previews again: this process runs no job.
  const notHere = { run: async () => Promise.reject(new Error('fsck runs no jobs')) };
  const jobs = createJobQueue(database, config, systemClock, { [RENDER_JOB]: notHere }, silentLogger);
  try {
    await blobs.init();
    await jobs.init();
    const report = await new StorageCheck(database, blobs, jobs, systemClock).run({ repair: values.repair });
    console.log(`${report.blobs} stored files, ${report.referenced} referenced by assets, versions and previews.`);
    const orphans = report.orphans.length;
    if (orphans > 0) console.log(`${orphans} stored file(s) no asset uses${values.repair ? `: removed ${report.repaired.orphansRemoved}` : ' (--repair removes them)'}.`);
    for (const entry of report.missing) {
      console.log(`missing ${entry.kind}${entry.detail ? ` (${entry.detail})` : ''} of ${entry.assetPath} [${entry.assetId}]: ${entry.key}`);
    }
    const missingRenditions = report.missing.filter((entry) => entry.kind === 'rendition').length;
    if (missingRenditions > 0) {
      console.log(values.repair ? `Queued previews again for ${report.repaired.renditionsRequeued} asset(s).` : `${missingRenditions} missing preview file(s): --repair makes them again.`);
    }
    const lost = report.missing.length - missingRenditions;
    if (lost > 0) console.log(`${lost} original or version file(s) are gone: restore them from a backup (the name of each is its SHA-256).`);
    const clean = lost === 0 && (values.repair || (orphans === 0 && missingRenditions === 0));
    console.log(clean ? 'OK.' : 'Problems found.');
    return clean ? 0 : 1;
  } finally {
    await jobs.stop();
    await database.close();
  }
}

const silentLogger = pino({ level: 'silent' });

/** The password from standard input: typed twice without echo on a terminal, else the first line of the input. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new DamsonError(400, 'The passwords do not match');
  return first;
}

function promptHidden(prompt: string): Promise<string> {
  process.stdout.write(prompt);
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const reader = createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) => {
    reader.question('', (answer) => {
      reader.close();
      process.stdout.write('\n');
      resolve(answer);
    });
  });
}
