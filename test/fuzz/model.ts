/**
 * A generated request, before it meets the server: strings may carry `⟦kind:n⟧` markers that the harness replaces
 * with live values (the n-th asset id, folder path, signed URL…), so generation needs no server and a recorded
 * seed replays the same requests.
 */

/** What a marker refers to: `image` is the id of an asset whose preview and thumbnail exist. */
export type RefKind = 'id' | 'image' | 'path' | 'folder' | 'name' | 'process' | 'etag' | 'url' | 'user' | 'password';

/** `⟦kind:n⟧`, or `⟦kind:n:m⟧` for the value damaged by mutation m (see `mutate`). */
export const REF_PATTERN = /⟦(id|image|path|folder|name|process|etag|url|user|password):(\d+)(?::(\d+))?⟧/g;

export const ref = (kind: RefKind, index: number, mutation = 0): string => (mutation === 0 ? `⟦${kind}:${index}⟧` : `⟦${kind}:${index}:${mutation}⟧`);

/** Damages a live value: a near miss of an id, a path or a signed URL is the interesting case. */
export function mutate(value: string, mutation: number): string {
  if (mutation === 0 || value === '') return value;
  const at = mutation % value.length;
  switch (mutation % 9) {
    case 0:
      return value.toUpperCase();
    case 1:
      return value.slice(0, -1);
    case 2:
      return `${value.slice(0, at)}${value[at] === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`;
    case 3:
      return value + value;
    case 4:
      return `${value}/..`;
    case 5:
      return `../${value}`;
    case 6:
      return value.toLowerCase();
    case 7:
      return `${value.slice(0, at)}%00${value.slice(at)}`;
    default:
      return ` ${value} `;
  }
}

export type AuthChoice =
  | 'none'
  | 'session'
  | 'session-no-csrf'
  | 'session-bad-csrf'
  | 'session-as-bearer'
  | 'api'
  | 'api-cookie'
  | 'plain-session'
  | 'plain-api'
  | 'bad-bearer-with-session'
  | 'garbage-cookie';

/** How query and urlencoded pairs are written: correctly, with `+` for spaces, unencoded, or with broken escapes. */
export type PairStyle = 'strict' | 'plus' | 'raw' | 'broken';

/** A name and a value; a null value writes the name alone (`?flag`). */
export type Pair = [string, string | null];

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  extraHeader?: string;
  content: string | Buffer;
}

export type MultipartDefect =
  | 'none'
  | 'no-final-boundary'
  | 'truncated'
  | 'lf-only'
  | 'garbage-prefix'
  | 'no-disposition'
  | 'no-boundary'
  | 'wrong-boundary';

export type BodySpec =
  | { kind: 'none' }
  | { kind: 'urlencoded'; pairs: Pair[]; style: PairStyle }
  | { kind: 'json'; value: unknown }
  | { kind: 'json-text'; text: string }
  | { kind: 'multipart'; parts: MultipartPart[]; boundary: string; defect: MultipartDefect }
  | { kind: 'raw'; text: string; contentType: string }
  | { kind: 'bytes'; bytes: Uint8Array; contentType: string }
  | { kind: 'oversized'; bytes: number; contentType: string };

export interface RequestSpec {
  /** Which route family the generator aimed at (for statistics and reports). */
  target: string;
  method: string;
  path: string;
  query: { kind: 'pairs'; pairs: Pair[]; style: PairStyle } | { kind: 'raw'; text: string };
  body: BodySpec;
  auth: AuthChoice;
  /** Extra headers; `cookie` values are added to the credentials' cookies, others override. */
  headers: Array<[string, string]>;
  /** undefined: the body's own type; null: none; a string: this one, whatever the body is. */
  contentType?: string | null;
  remoteAddress: string;
}
