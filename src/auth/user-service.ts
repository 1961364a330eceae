import { PASSWORD_MIN_LENGTH } from '../config.js';
import type { Clock } from '../lib/clock.js';
import { badRequest, conflict, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { hashPassword, isPasswordTooLong, PASSWORD_MAX_BYTES } from './passwords.js';
import type { AuthTokenStore } from './token-store.js';
import { newSecret } from './tokens.js';
import type { User, UserStore } from './user-store.js';

export interface NewUser {
  username: string;
  password: string;
  fullName?: string;
  email?: string;
  groups?: string[];
  admin?: boolean;
}

export const ROLE_SUPERUSER = 'ROLE_SUPERUSER';
export const ROLE_USER = 'ROLE_USER';
export const INITIAL_ADMIN_USERNAME = 'admin';

const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

/** Account administration: the rules behind `damson user …` and the first-start admin. */
export class UserService {
  constructor(
    private readonly users: UserStore,
    private readonly tokens: AuthTokenStore,
    private readonly clock: Clock,
  ) {}

  async addUser(input: NewUser): Promise<User> {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw badRequest('A username is 1 to 64 characters: letters, digits and . _ @ -, starting with a letter or digit');
    }
    assertAcceptablePassword(input.password);
    if (input.email !== undefined && !EMAIL_PATTERN.test(input.email)) throw badRequest(`"${input.email}" is not an email address`);
    const groups = (input.groups ?? []).map((group) => group.trim()).filter(Boolean);
    const now = this.clock.now();
    const user: User = {
      id: newId(),
      username: input.username,
      fullName: input.fullName?.trim() || null,
      email: input.email ?? null,
      groups: [...new Set(groups)],
      authorities: input.admin ? [ROLE_SUPERUSER, ROLE_USER] : [ROLE_USER],
      enabled: true,
      passwordHash: await hashPassword(input.password),
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.users.insert(user))) throw conflict(`A user named "${input.username}" already exists`);
    return user;
  }

  /** Sets a new password and ends every session and API token of that user. */
  async changePassword(username: string, password: string): Promise<void> {
    assertAcceptablePassword(password);
    const user = await this.requireUser(username);
    await this.users.updatePasswordHash(user.id, await hashPassword(password), this.clock.now());
    await this.tokens.revokeAllForUser(user.id);
  }

  /** Disabling ends every session and API token of that user at once. */
  async setEnabled(username: string, enabled: boolean): Promise<void> {
    const user = await this.requireUser(username);
    await this.users.setEnabled(user.id, enabled, this.clock.now());
    if (!enabled) await this.tokens.revokeAllForUser(user.id);
  }

  list(): Promise<User[]> {
    return this.users.list();
  }

  /**
   * On first start (no users at all) creates `admin` as superuser with the configured password, or with a
   * generated one that is returned so the caller can show it once.
   */
  async ensureInitialAdmin(configuredPassword: string | undefined): Promise<{ generatedPassword?: string } | undefined> {
    if ((await this.users.count()) > 0) return undefined;
    const password = configuredPassword ?? newSecret().slice(0, 24);
    try {
      await this.addUser({ username: INITIAL_ADMIN_USERNAME, password, fullName: 'Administrator', admin: true });
    } catch (error) {
      // Another node created it at the same moment: that is the outcome we wanted.
      if ((await this.users.findByUsername(INITIAL_ADMIN_USERNAME)) === undefined) throw error;
      return undefined;
    }
    return configuredPassword ? {} : { generatedPassword: password };
  }

  private async requireUser(username: string): Promise<User> {
    const user = await this.users.findByUsername(username);
    if (!user) throw notFound(`No user named "${username}"`);
    return user;
  }
}

function assertAcceptablePassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH) throw badRequest(`A password needs at least ${PASSWORD_MIN_LENGTH} characters`);
  if (isPasswordTooLong(password)) throw badRequest(`A password may have at most ${PASSWORD_MAX_BYTES} bytes`);
}
