import type { AuthService } from '../auth/auth-service.js';
import type { UserService } from '../auth/user-service.js';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Clock } from '../lib/clock.js';

/** What route modules are given: configuration and the services they call. Routes never touch stores. */
export interface AppContext {
  config: Config;
  clock: Clock;
  database: DatabaseHandle;
  auth: AuthService;
  users: UserService;
}
