import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { tooManyRequests } from '../lib/errors.js';
import { hashPassword, isPasswordTooLong, needsRehash, verifyPassword } from './passwords.js';
import type { LoginThrottleStore } from './throttle-store.js';
import { type AuthTokenStore, type StoredToken, type TokenKind } from './token-store.js';
import { hashSecret, newSecret, secretMatchesHash } from './tokens.js';
import { type User, type UserStore, usernameKey } from './user-store.js';

export interface AuthPolicy {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
  throttleWindowMs: number;
  /** Login sessions per user; 0 or undefined = no limit. */
  maxSessionsPerUser?: number;
}

/** Who is calling, as established by a session or API token, or by `authcred` for one request (no token: `tokenHash` empty). */
export interface Principal {
  user: User;
  tokenHash: string;
  kind: TokenKind | 'authcred';
  csrfHash: string | null;
}

export interface Credentials {
  username: string;
  password: string;
  /** The client address (already resolved through trusted proxies). */
  ip: string;
}

export type SessionLogin = { ok: true; user: User; token: string; csrfToken: string } | { ok: false };
export type ApiLogin = { ok: true; user: User; token: string } | { ok: false };

/** `cred` and `authcred`: base64 of `user:password`. Malformed input becomes credentials that fail. */
export function credentialsFromBase64(encoded: string, ip: string): Credentials {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 0) return { username: '', password: '', ip };
  return { username: decoded.slice(0, separator), password: decoded.slice(separator + 1), ip };
}

/** How long a verified `authcred` is remembered, and for how many credentials at most. */
const AUTHCRED_REMEMBER_MS = 60_000;
const AUTHCRED_REMEMBERED_MAX = 1000;

/** The one message for every failed login, so that nobody learns which accounts exist. */
export const LOGIN_FAULT_MESSAGE = 'Invalid username or password';

const USERNAME_MAX_LENGTH = 256;

export class AuthService {
  /** Verified for unknown users, so their failures take as long as a real user's. */
  private dummyHash: Promise<string> | undefined;
  /** `authcred` credentials verified lately, by their keyed hash (see authenticateCredentials). */
  private readonly verifiedCredentials = new Map<string, { userId: string; passwordHash: string; until: number }>();
  /** `authcred` verifications running, by keyed hash and client address: requests that come meanwhile share them. */
  private readonly verifyingCredentials = new Map<string, Promise<User | null>>();
  /** Keys the hashes of remembered credentials: never stored, different in every process. */
  private readonly credentialKey = randomBytes(32);

  constructor(
    private readonly users: UserStore,
    private readonly tokens: AuthTokenStore,
    private readonly throttle: LoginThrottleStore,
    private readonly clock: Clock,
    private readonly policy: AuthPolicy,
  ) {}

  /** `/services/login`: a browser session with a CSRF token. On success the caller's previous session is destroyed. */
  async login(credentials: Credentials, client: { clientType?: string; previousToken?: string }): Promise<SessionLogin> {
    const user = await this.verifyCredentials(credentials);
    if (!user) return { ok: false };
    if (client.previousToken) await this.tokens.revoke(hashSecret(client.previousToken));
    const csrfToken = newSecret();
    const token = await this.issueToken(user, 'session', hashSecret(csrfToken), client.clientType, undefined);
    await this.enforceSessionLimit(user, hashSecret(token));
    return { ok: true, user, token, csrfToken };
  }

  /** `/services/apilogin`: an integration token that never needs CSRF. */
  async apiLogin(credentials: Credentials, client: { clientType?: string; clientId?: string }): Promise<ApiLogin> {
    const user = await this.verifyCredentials(credentials);
    if (!user) return { ok: false };
    const token = await this.issueToken(user, 'api', null, client.clientType, client.clientId);
    return { ok: true, user, token };
  }

  /** Resolves a presented token to its principal, enforcing idle and absolute timeouts; null when not valid. */
  async authenticate(token: string): Promise<Principal | null> {
    if (token.length === 0 || token.length > 512) return null;
    const tokenHash = hashSecret(token);
    const stored = await this.tokens.find(tokenHash);
    if (!stored) return null;
    const now = this.clock.now();
    if (this.isExpired(stored, now)) {
      await this.tokens.revoke(tokenHash);
      return null;
    }
    const user = await this.users.findById(stored.userId);
    if (!user || !user.enabled) return null;
    // Writing on every request would make each read a write; a fraction of the idle limit is precise enough.
    if (now - stored.lastSeenAt >= Math.min(60_000, this.policy.idleTimeoutMs / 10)) {
      await this.tokens.touch(tokenHash, now);
    }
    return { user, tokenHash, kind: stored.kind, csrfHash: stored.csrfHash };
  }

  /**
   * `authcred` (protocol §6.4): credentials on a request that reads, authenticating that request alone; throttled
   * as logins are. A page of thumbnails would run the password hash once per image, so requests that come while
   * it runs share it, and a success is remembered for a minute, under a keyed hash of the credentials, and only
   * while the user's password hash is unchanged.
   */
  async authenticateCredentials(credentials: Credentials): Promise<Principal | null> {
    const key = createHmac('sha256', this.credentialKey).update(`${credentials.username}\u0000${credentials.password}`).digest('hex');
    const now = this.clock.now();
    const remembered = this.verifiedCredentials.get(key);
    if (remembered && remembered.until > now) {
      const user = await this.users.findById(remembered.userId);
      if (user?.enabled && user.passwordHash === remembered.passwordHash) return { user, tokenHash: '', kind: 'authcred', csrfHash: null };
    }
    this.verifiedCredentials.delete(key);
    // A page of thumbnails asks all at once: one password check for all of them, not one each.
    const running = `${key} ${credentials.ip}`;
    let verifying = this.verifyingCredentials.get(running);
    if (!verifying) {
      verifying = this.verifyCredentials(credentials).finally(() => this.verifyingCredentials.delete(running));
      this.verifyingCredentials.set(running, verifying);
    }
    const user = await verifying;
    if (!user) return null;
    // The oldest goes first (a Map keeps insertion order).
    if (this.verifiedCredentials.size >= AUTHCRED_REMEMBERED_MAX) this.verifiedCredentials.delete(this.verifiedCredentials.keys().next().value!);
    this.verifiedCredentials.set(key, { userId: user.id, passwordHash: user.passwordHash, until: now + AUTHCRED_REMEMBER_MS });
    return { user, tokenHash: '', kind: 'authcred', csrfHash: null };
  }

  /** Login sessions need the CSRF token on unsafe methods; apilogin tokens never do. */
  requiresCsrf(principal: Principal): boolean {
    return principal.kind === 'session';
  }

  csrfTokenMatches(principal: Principal, presented: unknown): boolean {
    return secretMatchesHash(presented, principal.csrfHash);
  }

  async logout(principal: Principal): Promise<void> {
    // `authcred` opened no session: nothing to end.
    if (principal.kind !== 'authcred') await this.tokens.revoke(principal.tokenHash);
  }

  /** Removes expired sessions and throttle windows; called periodically. */
  async sweepExpired(): Promise<void> {
    const now = this.clock.now();
    await this.tokens.deleteExpired(now - this.policy.idleTimeoutMs, now - this.policy.absoluteTimeoutMs);
    await this.throttle.deleteExpired(now - this.policy.throttleWindowMs);
  }

  /** Login sessions and API tokens used within the idle timeout, on every node. */
  activeSessions(): Promise<number> {
    return this.tokens.countActive(this.clock.now() - this.policy.idleTimeoutMs);
  }

  /**
   * With a per-user limit, a new login ends the least recently used of the user's other login sessions (API
   * tokens are not counted): the new login always works, and the ended session's next request gets 401.
   */
  private async enforceSessionLimit(user: User, newTokenHash: string): Promise<void> {
    const limit = this.policy.maxSessionsPerUser ?? 0;
    if (limit <= 0) return;
    const others = (await this.tokens.listForUser(user.id)).filter((token) => token.kind === 'session' && token.tokenHash !== newTokenHash);
    const excess = others.length + 1 - limit;
    if (excess <= 0) return;
    others.sort((a, b) => a.lastSeenAt - b.lastSeenAt || a.createdAt - b.createdAt);
    for (const token of others.slice(0, excess)) await this.tokens.revoke(token.tokenHash);
  }

  private isExpired(token: StoredToken, now: number): boolean {
    return now - token.lastSeenAt > this.policy.idleTimeoutMs || now - token.createdAt > this.policy.absoluteTimeoutMs;
  }

  private async issueToken(user: User, kind: TokenKind, csrfHash: string | null, clientType?: string, clientId?: string): Promise<string> {
    const token = newSecret();
    const now = this.clock.now();
    await this.tokens.create({
      tokenHash: hashSecret(token),
      kind,
      userId: user.id,
      csrfHash,
      clientType: clientType?.slice(0, 200) ?? null,
      clientId: clientId?.slice(0, 200) ?? null,
      createdAt: now,
      lastSeenAt: now,
    });
    return token;
  }

  /**
   * The user whose password this is, or null. Throttled per account and per client address; unknown users,
   * wrong passwords and disabled accounts fail alike, after the same amount of hashing work.
   */
  private async verifyCredentials({ username, password, ip }: Credentials): Promise<User | null> {
    const wellFormed = username.length > 0 && username.length <= USERNAME_MAX_LENGTH && !username.includes('\0');
    const keys = [`ip:${ip}`];
    if (wellFormed) keys.push(`account:${usernameKey(username)}`);
    await this.assertNotThrottled(keys);

    if (!wellFormed || password.length === 0 || isPasswordTooLong(password)) {
      await this.recordFailure(keys);
      return null;
    }
    const user = await this.users.findByUsername(username);
    const passwordMatches = await verifyPassword(user?.passwordHash ?? (await this.getDummyHash()), password);
    if (!user || !passwordMatches || !user.enabled) {
      await this.recordFailure(keys);
      return null;
    }
    await this.throttle.reset(`account:${usernameKey(username)}`);
    if (needsRehash(user.passwordHash)) {
      user.passwordHash = await hashPassword(password);
      await this.users.updatePasswordHash(user.id, user.passwordHash, this.clock.now());
    }
    return user;
  }

  private async assertNotThrottled(keys: string[]): Promise<void> {
    const now = this.clock.now();
    for (const key of keys) {
      const window = await this.throttle.get(key);
      if (!window) continue;
      const windowEnds = window.windowStartedAt + this.policy.throttleWindowMs;
      const limit = key.startsWith('ip:') ? this.policy.maxFailuresPerIp : this.policy.maxFailuresPerAccount;
      if (windowEnds > now && window.failures >= limit) {
        throw tooManyRequests('Too many failed logins; try again later', (windowEnds - now) / 1000);
      }
    }
  }

  private async recordFailure(keys: string[]): Promise<void> {
    const now = this.clock.now();
    for (const key of keys) await this.throttle.recordFailure(key, now, now - this.policy.throttleWindowMs);
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= hashPassword(newSecret());
    return this.dummyHash;
  }
}
