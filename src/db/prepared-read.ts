import type { Compilable, CompiledQuery } from 'kysely';
import type { DatabaseHandle } from './database.js';

/**
 * A read made on every request (the token and the user behind a credential), written with Kysely as usual but
 * built and compiled once: each call only binds its parameters and runs through `readCommitted`. Kysely's
 * per-query work (building, compiling, its connection mutex, a chain of promises) costs several times what
 * SQLite spends on a primary-key lookup, and this is the hot path of every authenticated request.
 *
 * `build` gets stand-ins for the parameters and must use each as a plain value (`where('id', '=', id)`).
 */
export function prepareRead<Params extends string[], Row>(
  database: DatabaseHandle,
  build: (...params: Params) => Compilable<Row>,
): (...params: Params) => Promise<Row[]> {
  let prepared: { query: CompiledQuery<Row>; slots: number[] } | undefined;
  return (...params: Params) => {
    prepared ??= compileWithSlots(build, params.length);
    const { query, slots } = prepared;
    const parameters = query.parameters.map((constant, index) => (slots[index]! >= 0 ? params[slots[index]!] : constant));
    return database.readCommitted({ ...query, parameters });
  };
}

/** Compiles `build` with marker values, noting which compiled parameter is which argument (-1: a constant). */
function compileWithSlots<Params extends string[], Row>(build: (...params: Params) => Compilable<Row>, count: number) {
  const markers = Array.from({ length: count }, (_, index) => `\u0000prepared-read-parameter-${index}\u0000`) as Params;
  const query = build(...markers).compile();
  const slots = query.parameters.map((value) => markers.indexOf(value as string));
  for (let index = 0; index < count; index++) {
    if (!slots.includes(index)) throw new Error(`prepareRead: parameter ${index} is not used as a value in: ${query.sql}`);
  }
  return { query, slots };
}
