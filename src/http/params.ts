import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { isTruthyWord } from '../config.js';
import { badRequest, DamsonError } from '../lib/errors.js';
import { isOutOfSpace } from '../lib/unavailable.js';

/**
 * A service's parameters, merged from the query string and the body (urlencoded, multipart or JSON), since real
 * Assets clients use each of them, on GET and POST alike. A value given in the body wins over the query string.
 */
export class Params {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  get(name: string): string | undefined {
    const all = this.values.get(name);
    return all?.[all.length - 1];
  }

  /** Every value of a repeatable parameter, in the order given. */
  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** `true`, `1`, `yes` and `on` (any case) are true; anything else given is false. */
  bool(name: string, fallback = false): boolean {
    const value = this.get(name);
    return value === undefined ? fallback : isTruthyWord(value);
  }

  /** A comma-separated list, trimmed, without empty entries. */
  list(name: string): string[] {
    return (this.get(name) ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.get(name);
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || parsed < min || parsed > max) {
      throw badRequest(`Parameter ${name} must be a whole number from ${min} to ${max}`);
    }
    return parsed;
  }
}

export interface FileHandling {
  /** Receives each file part; it must consume `part.file`. Without it, files are read past and ignored. */
  onFile(part: MultipartFile): Promise<void>;
  maxFileBytes: number;
}

/**
 * How much of a multipart part is buffered before the parser waits for its reader. Busboy reads past a part it
 * skips (one without a Content-Disposition, say) with nobody listening; when such a part ends in the same chunk
 * that filled this buffer, the parser is never asked for more and the request hangs without an answer. A socket
 * read delivers at most 64 KiB, so above that no request over HTTP can get there; memory per upload stays bounded.
 */
const PART_BUFFER_BYTES = 1024 * 1024;
/**
 * Service requests are small: a body, or a multipart field, of at most this many bytes. Uploaded files go
 * through the multipart streaming path with limits of their own.
 */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export async function readParams(request: FastifyRequest, files?: FileHandling): Promise<Params> {
  const collector = new ParamCollector();
  collector.addObject(request.query);
  if (request.isMultipart()) {
    try {
      const parts = request.parts({ fileHwm: PART_BUFFER_BYTES, ...(files ? { limits: { fileSize: files.maxFileBytes, files: 1 } } : {}) });
      for await (const part of parts) {
        if (part.type === 'field') {
          // The multipart parser cuts a longer value short without a word: refused, never stored cut.
          if (part.valueTruncated) throw new DamsonError(413, `Parameter ${part.fieldname.slice(0, 64)} is longer than ${BODY_LIMIT_BYTES} bytes`);
          collector.add(part.fieldname, part.value);
        }
        else if (files) await files.onFile(part);
        else await pipeline(part.file, new Writable({ write: (_chunk, _encoding, done) => done() }));
      }
    } catch (error) {
      throw asMultipartError(error);
    }
  } else {
    collector.addObject(request.body);
  }
  return collector.toParams();
}

/** Gathers parameter values from several sources, in order (later sources win in `Params.get`). */
export class ParamCollector {
  private readonly values = new Map<string, string[]>();

  add(name: string, value: unknown): void {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      const text = typeof item === 'string' ? item : typeof item === 'object' ? nestedJson(name, item) : String(item);
      const existing = this.values.get(name);
      if (existing) existing.push(text);
      else this.values.set(name, [text]);
    }
  }

  addObject(source: unknown): void {
    if (source === null || typeof source !== 'object' || Array.isArray(source)) return;
    for (const [name, value] of Object.entries(source)) this.add(name, value);
  }

  toParams(): Params {
    return new Params(this.values);
  }
}

/** A JSON body's object or array value, as the JSON text a service parses again (`metadata`). */
function nestedJson(name: string, value: object): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    // A body of a few hundred thousand nested brackets parses, but writing it back out overflows the stack.
    if (error instanceof RangeError) throw badRequest(`Parameter ${name.slice(0, 100)} is nested too deeply`);
    throw error;
  }
}

/**
 * The multipart parser reports a malformed body as a plain `Error` (Damson's own errors have classes of their
 * own, and the plugin's carry a status); the client gets a 400 saying what was wrong.
 */
export function asMultipartError(error: unknown): unknown {
  // A full disk while staging the file is the server's problem (507), not a malformed body.
  if (isOutOfSpace(error)) return error;
  if (error instanceof Error && error.constructor === Error && typeof (error as { statusCode?: unknown }).statusCode !== 'number') {
    return badRequest(`Malformed multipart body: ${error.message}`);
  }
  return error;
}
