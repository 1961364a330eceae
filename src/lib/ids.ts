import { randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new 22-character id, letters and digits only (about 131 random bits). It fits the `[A-Za-z0-9_-]{22}` format
 * Assets clients validate, and leaves out `-` and `_` on purpose: clients write queries such as `id:<id>` without
 * quotes, and a leading `-` would turn that into "everything but this asset".
 */
export function newId(): string {
  let id = '';
  for (let i = 0; i < 22; i += 1) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}
