import type { AuthService } from '../auth/auth-service.js';
import type { UserService } from '../auth/user-service.js';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import type { AssetRuntime } from '../services.js';

/**
 * What route modules are given: configuration and the services they call (plus the asset store and blob store
 * for the read-only download paths). Routes never run queries of their own.
 */
export interface AppContext extends Omit<AssetRuntime, 'jobs' | 'close'> {
  config: Config;
  clock: Clock;
  database: DatabaseHandle;
  auth: AuthService;
  users: UserService;
}
