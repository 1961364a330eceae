import { AuthService } from './auth/auth-service.js';
import { SqlLoginThrottleStore } from './auth/throttle-store.js';
import { SqlAuthTokenStore } from './auth/token-store.js';
import { UserService } from './auth/user-service.js';
import { UserStore } from './auth/user-store.js';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/database.js';
import type { Clock } from './lib/clock.js';

export interface Services {
  auth: AuthService;
  users: UserService;
}

/** Wires the stores of one database into the services; the HTTP app and the CLI share this. */
export function createServices(database: DatabaseHandle, config: Config, clock: Clock): Services {
  const userStore = new UserStore(database.db);
  const tokenStore = new SqlAuthTokenStore(database.db);
  const auth = new AuthService(userStore, tokenStore, new SqlLoginThrottleStore(database.db), clock, {
    idleTimeoutMs: config.sessionIdleMinutes * 60_000,
    absoluteTimeoutMs: config.sessionMaxHours * 3_600_000,
    maxFailuresPerAccount: config.loginMaxFailuresPerAccount,
    maxFailuresPerIp: config.loginMaxFailuresPerIp,
    throttleWindowMs: config.loginThrottleWindowMinutes * 60_000,
  });
  return { auth, users: new UserService(userStore, tokenStore, clock) };
}
