/**
 * Where `/logout` may send the browser. Allowed: a path on this server, or an absolute http(s) URL whose origin
 * is on the allow-list (`'*'` = any http(s) URL, the original Assets behaviour). Everything else, including
 * anything that fails to parse, falls back to the landing page. Decisions are made on the WHATWG-parsed URL,
 * never on string prefixes.
 */
export interface RedirectPolicy {
  /** Absolute URL of this server's base, used to resolve relative values. */
  baseUrl: string;
  allowlist: readonly string[] | '*';
  landingPage: string;
}

const MAX_URL_LENGTH = 8192;
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f-\u009f\\]/;
const SAFE_LOCATION = /^[\x21-\x7e]+$/;

export function resolveLogoutRedirect(requested: string | undefined, policy: RedirectPolicy): string {
  return allowedTarget(requested, policy) ?? policy.landingPage;
}

/** A path on this server (`baseUrl` resolves relative values) that is safe to redirect to; undefined otherwise. */
export function sameOriginTarget(requested: string, baseUrl: string): string | undefined {
  return allowedTarget(requested, { baseUrl, allowlist: [], landingPage: '' });
}

function allowedTarget(requested: string | undefined, policy: RedirectPolicy): string | undefined {
  if (!requested || requested.length > MAX_URL_LENGTH || !requested.isWellFormed()) return undefined;
  // Reject control characters and backslashes both as sent and once decoded: browsers treat `\` as `/`, and a
  // value such as %2F%2Fevil.example must not become a protocol-relative URL further down the line.
  const decoded = safeDecode(requested);
  if (decoded === undefined || CONTROL_OR_BACKSLASH.test(requested) || CONTROL_OR_BACKSLASH.test(decoded)) return undefined;
  if (/^\s*\/\s*\//.test(decoded)) return undefined;

  let target: URL;
  let base: URL;
  try {
    base = new URL(policy.baseUrl);
    target = new URL(requested, base);
  } catch {
    return undefined;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return undefined;
  if (target.username || target.password) return undefined;

  let location: string;
  if (target.origin === base.origin) {
    // Sent as a path, it must not start with `//`, which a browser reads as another host: dot segments resolved
    // away (`/.//evil.example`) can leave one that the check on the value as given never saw.
    if (target.pathname.startsWith('//')) return undefined;
    location = target.pathname + target.search + target.hash;
  } else if (policy.allowlist === '*' || policy.allowlist.includes(target.origin)) {
    location = target.href;
  } else {
    return undefined;
  }
  // The URL serializer percent-encodes non-ASCII; this guard keeps any surprise out of the Location header.
  return SAFE_LOCATION.test(location) ? location : undefined;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
