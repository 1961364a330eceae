import type { FacetIndexStore } from './facet-index-store.js';

/** Assets whose dates are read per statement when reading them all. */
const READ_ROWS = 50_000;

/**
 * Every asset's upload date (assetCreated) by rowid, on SQLite's search threads, for the default sort. When a
 * search found its hits in memory (selections, facets: see InMemorySearch), the few that can head the page are
 * picked here, and SQL reads and orders only those, rather than walk the upload order checking each asset against
 * the hits again. Kept up to date with the FacetIndex, from the search change log.
 */
export class UploadDates {
  /** NaN where no asset has the rowid. */
  private dates: Float64Array;

  private constructor(size: number) {
    this.dates = new Float64Array(size).fill(Number.NaN);
  }

  /** Every asset's date (1,000,000 assets: about 8 MB). */
  static async read(store: FacetIndexStore, lastRowid: number): Promise<UploadDates> {
    const dates = new UploadDates(lastRowid + 1);
    for (let after: UploadOrderKey | undefined; ; ) {
      const rows = await store.uploadDatePage(after, READ_ROWS);
      for (const { rowid, date } of rows) dates.set(rowid, date);
      if (rows.length < READ_ROWS) break;
      const last = rows[rows.length - 1]!;
      after = { date: last.date, id: last.id };
    }
    return dates;
  }

  /** An asset's date now; undefined: it was removed. */
  set(rowid: number, date: number | undefined): void {
    if (rowid >= this.dates.length) {
      const bigger = new Float64Array(Math.max(rowid + 1, Math.ceil(this.dates.length * 1.25))).fill(Number.NaN);
      bigger.set(this.dates);
      this.dates = bigger;
    }
    this.dates[rowid] = date ?? Number.NaN;
  }

  /**
   * Of the hits (rowids), those that can be among the first `count` in upload order, newest first when
   * `descending`: every hit dated at least as late (or early) as the count-th, ties included, so that ordering
   * just these by the full sort gives the same first `count` as ordering them all. A hit without a date here is
   * kept, never guessed about.
   */
  leading(hits: ArrayLike<number>, count: number, descending: boolean): number[] {
    if (hits.length <= count) return Array.from(hits);
    const sign = descending ? 1 : -1;
    // The count-th best date: a min-heap of the best `count` seen, whose root is the worst of them.
    const heap = new Float64Array(count);
    let size = 0;
    for (let index = 0; index < hits.length; index++) {
      const date = sign * this.dates[hits[index]!]!;
      if (Number.isNaN(date)) continue;
      if (size < count) siftUp(heap, size++, date);
      else if (date > heap[0]!) siftDown(heap, count, date);
    }
    if (size < count) return Array.from(hits);
    const leading: number[] = [];
    const threshold = heap[0]!;
    for (let index = 0; index < hits.length; index++) {
      const rowid = hits[index]!;
      const date = sign * this.dates[rowid]!;
      if (!(date < threshold)) leading.push(rowid);
    }
    return leading;
  }
}

/** An asset's place in upload order. */
export interface UploadOrderKey {
  date: number;
  id: string;
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
