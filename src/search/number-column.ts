import type { NumericRange } from './search-store.js';

/** Rows read per statement when reading a whole column. */
const READ_ROWS = 50_000;

/** A row's place in the order a column is read in: by value, then asset id. */
export interface ColumnCursor {
  value: number;
  id: string;
}

/** Where a column's rows are read from, in (value, id) order: a page after `after`. */
export type ColumnPages = (after: ColumnCursor | undefined, limit: number) => Promise<Array<ColumnCursor & { rowid: number }>>;

/**
 * One number of every asset by rowid, on SQLite's search threads: the upload dates (assetCreated), and a number
 * or date field that a range query asks for (a number or date field has one value per asset). Kept up to date
 * by the FacetIndex from the search change log.
 * - Upload dates: when a search found its hits in memory (selections, facets: see InMemorySearch), the few that
 *   can head a page in upload order are picked here, and SQL reads and orders only those, rather than walk the
 *   upload order checking each asset against the hits again.
 * - A field: a range's hits are one pass over the column (`created:[2020-01-01 TO 2020-12-31]` at 1,000,000
 *   assets, 80,897 hits: SQL seeks each hit's asset to find it and its upload date, about 0.2 s).
 */
export class NumberColumn {
  /** NaN where no asset has the rowid, or the asset no value. */
  private values: Float64Array;

  private constructor(size: number) {
    this.values = new Float64Array(size).fill(Number.NaN);
  }

  /** The whole column (1,000,000 assets: 8 MB). */
  static async read(pages: ColumnPages, lastRowid: number): Promise<NumberColumn> {
    const column = new NumberColumn(lastRowid + 1);
    for (let after: ColumnCursor | undefined; ; ) {
      const rows = await pages(after, READ_ROWS);
      for (const { rowid, value } of rows) column.set(rowid, value);
      if (rows.length < READ_ROWS) break;
      const { value, id } = rows[rows.length - 1]!;
      after = { value, id };
    }
    return column;
  }

  /** An asset's value now; undefined: it has none, or was removed. */
  set(rowid: number, value: number | undefined): void {
    if (rowid >= this.values.length) {
      const bigger = new Float64Array(Math.max(rowid + 1, Math.ceil(this.values.length * 1.25))).fill(Number.NaN);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[rowid] = value ?? Number.NaN;
  }

  /** The values of these assets now: those in `rows`, none for the others (removed, or without the field). */
  update(rowids: readonly number[], rows: ReadonlyArray<{ rowid: number; value: number }>): void {
    for (const rowid of rowids) this.set(rowid, undefined);
    for (const { rowid, value } of rows) this.set(rowid, value);
  }

  /** A mask by rowid of the assets whose value is within the range. */
  mask(range: NumericRange): Uint8Array {
    // Exclusive bounds as inclusive ones: the next number up from min, down from max.
    const min = range.min === null ? Number.NEGATIVE_INFINITY : range.minInclusive ? range.min : nextUp(range.min);
    const max = range.max === null ? Number.POSITIVE_INFINITY : range.maxInclusive ? range.max : -nextUp(-range.max);
    const { values } = this;
    const mask = new Uint8Array(values.length);
    // A write for every asset and no branch to mispredict on mixed values (NaN, no value, is never within).
    for (let rowid = 0; rowid < values.length; rowid++) mask[rowid] = +(values[rowid]! >= min) & +(values[rowid]! <= max);
    return mask;
  }

  /**
   * Of the hits (rowids), those that can be among the first `count` in the column's order (highest first when
   * `descending`): every hit valued at least as high (or low) as the count-th, ties included, so that ordering
   * just these by the full sort gives the same first `count` as ordering them all. A hit without a value here is
   * kept, never guessed about.
   */
  leading(hits: ArrayLike<number>, count: number, descending: boolean): number[] {
    if (hits.length <= count) return Array.from(hits);
    const sign = descending ? 1 : -1;
    // The count-th best value: a min-heap of the best `count` seen, whose root is the worst of them.
    const heap = new Float64Array(count);
    let size = 0;
    for (let index = 0; index < hits.length; index++) {
      const value = sign * this.values[hits[index]!]!;
      if (Number.isNaN(value)) continue;
      if (size < count) siftUp(heap, size++, value);
      else if (value > heap[0]!) siftDown(heap, count, value);
    }
    if (size < count) return Array.from(hits);
    const leading: number[] = [];
    const threshold = heap[0]!;
    for (let index = 0; index < hits.length; index++) {
      const rowid = hits[index]!;
      const value = sign * this.values[rowid]!;
      if (!(value < threshold)) leading.push(rowid);
    }
    return leading;
  }
}


function siftUp(heap: Float64Array, at: number, value: number): void {
  let child = at;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[child] = heap[parent]!;
    child = parent;
  }
  heap[child] = value;
}

/** Replaces the root with `value` and restores the heap. */
function siftDown(heap: Float64Array, size: number, value: number): void {
  let parent = 0;
  for (;;) {
    let child = 2 * parent + 1;
    if (child >= size) break;
    if (child + 1 < size && heap[child + 1]! < heap[child]!) child++;
    if (heap[child]! >= value) break;
    heap[parent] = heap[child]!;
    parent = child;
  }
  heap[parent] = value;
}

/** The least double greater than `value`. */
function nextUp(value: number): number {
  if (Number.isNaN(value) || value === Number.POSITIVE_INFINITY) return value;
  if (value === 0) return Number.MIN_VALUE;
  const bits = new Float64Array([value]);
  const words = new BigInt64Array(bits.buffer);
  words[0] = words[0]! + (value > 0 ? 1n : -1n);
  return bits[0]!;
}
