/**
 * Facet counts from memory, on SQLite's search threads. Counting in SQL checks every index row of a field against
 * the hits, about 1 µs a row: four facets of 232,000 hits at 1,000,000 assets took seconds. Here each field's
 * whole values are held by asset rowid, and a facet is one pass over the hits' rowids. The same tables find the
 * assets with given values (facet selections, `status:Final`) without SQL, see InMemorySearch.
 *
 * A field is read whole on first use (lazily: only fields someone facets on cost memory), then kept up to date from
 * the search change log (migration 0009), read in the search's own transaction, so that counts and hits always
 * see the same state. A removed asset's values go with its log entry; a thread that fell behind the log's end
 * reads its fields again. The assets' upload dates, and number and date fields that ranges ask for, are held the
 * same way (NumberColumn).
 */
import type { FacetIndexStore } from './facet-index-store.js';
import type { FacetCount, FacetKey, FacetKind } from './search-store.js';
import { NumberColumn } from './number-column.js';

/** Values read per statement when reading a whole field. */
const READ_KEYS = 1000;
/** Assets whose changed values are read per statement. */
const CHANGE_BATCH = 500;
/** Number and date fields held whole for ranges, each 8 bytes per asset (1,000,000 assets: 8 MB). */
const MAX_NUMBER_COLUMNS = 6;
/** How number and date fields are stored. */
const NUMBERS = { numeric: true, tokenized: false };
/**
 * A field with more distinct values than this (titles, file names) stays counted in SQL: its keys would cost more
 * memory than its counts save, and its facets are rarely asked for.
 */
export const MAX_FACET_KEYS = 100_000;
/**
 * Nor one whose values add up to more characters than this (long descriptions): a few MiB of keys per thread at
 * most. The table itself takes 4 bytes per value and per asset (ancestorPaths at 1,000,000 assets: 4.4 million values, 22 MB).
 */
export const MAX_FACET_KEY_CHARS = 4_000_000;

export class FacetIndex {
  /** `compactAfter`: changed assets kept beside a field's table before it is made again (plus 2% of the table). */
  constructor(private readonly compactAfter = 1000) {}

  private readonly fields = new Map<string, FieldValues>();
  /** Fields whose values are too many or too long to hold (MAX_FACET_KEYS, MAX_FACET_KEY_CHARS). */
  private readonly tooVaried = new Set<string>();
  /** Every asset's upload date, once a search has paged its hits in memory. */
  private dates: NumberColumn | undefined;
  /** Number and date fields that range queries asked for, whole. */
  private readonly numbers = new Map<string, NumberColumn>();
  /** The last change of the log the fields and dates include. */
  private applied = 0;

  /** Whether a field is held: its counts, and the assets with given values, come from memory. */
  has(field: string): boolean {
    return this.fields.has(field);
  }

  /** Whether a field may be held in memory: not once its values were found too many or too long. */
  suitable(field: string): boolean {
    return !this.tooVaried.has(field);
  }

  /**
   * Brings the fields in memory up to the state the current transaction sees. Call once per search, in its read
   * transaction, before `facet`.
   */
  async refresh(store: FacetIndexStore): Promise<void> {
    const bounds = await store.changeBounds();
    const last = bounds?.last ?? 0;
    const holding = () => this.fields.size > 0 || this.dates !== undefined || this.numbers.size > 0;
    if (holding() && (last < this.applied || (bounds !== undefined && bounds.first > this.applied + 1))) {
      // Changes this thread has not seen were dropped from the log (or the log is not the one it followed).
      this.fields.clear();
      this.dates = undefined;
      this.numbers.clear();
    }
    if (holding() && last > this.applied) {
      const changed = await store.changedSince(this.applied, last);
      for (const [field, values] of this.fields) {
        for (let start = 0; start < changed.length; start += CHANGE_BATCH) {
          const batch = changed.slice(start, start + CHANGE_BATCH);
          const rows = await store.valuesOf(field, values.kind, batch);
          const byAsset = new Map<number, FacetKey[]>(batch.map((rowid) => [rowid, []]));
          for (const row of rows) byAsset.get(row.rowid)!.push(row.key);
          for (const [rowid, keys] of byAsset) values.set(rowid, keys);
        }
        // Values that come and go are dropped when the table is made again; past twice the limits they stay.
        if (values.exceeds(2)) {
          this.fields.delete(field);
          this.tooVaried.add(field);
        } else {
          values.compactIfWorthIt(this.compactAfter);
        }
      }
      for (let start = 0; start < changed.length; start += CHANGE_BATCH) {
        const batch = changed.slice(start, start + CHANGE_BATCH);
        this.dates?.update(batch, await store.uploadDatesOf(batch));
        for (const [field, column] of this.numbers) {
          column.update(batch, (await store.valuesOf(field, NUMBERS, batch)).map(({ rowid, key }) => ({ rowid, value: Number(key) })));
        }
      }
    }
    this.applied = last;
  }

  /** Whether the upload dates are held (a search paged its hits in memory). */
  holdsUploadDates(): boolean {
    return this.dates !== undefined;
  }

  /** Every asset's upload date (the default sort), read whole first if need be. Call after `refresh`. */
  async uploadDates(store: FacetIndexStore): Promise<NumberColumn> {
    this.dates ??= await NumberColumn.read((after, limit) => store.uploadDatePage(after, limit), await store.lastAssetRowid());
    return this.dates;
  }

  /** Whether a number or date field is held whole. */
  holdsNumbers(field: string): boolean {
    return this.numbers.has(field);
  }

  /** A number or date field's values if held (counted as a use). */
  heldNumbers(field: string): NumberColumn | undefined {
    const column = this.numbers.get(field);
    if (column) this.useNumbers(field, column);
    return column;
  }

  /**
   * A number or date field's values, read whole first if need be. Call after `refresh`. At most
   * MAX_NUMBER_COLUMNS are held: the one used longest ago goes first.
   */
  async numbersOf(store: FacetIndexStore, field: string): Promise<NumberColumn> {
    const column = this.numbers.get(field) ?? (await NumberColumn.read((after, limit) => store.numberPage(field, after, limit), await store.lastAssetRowid()));
    this.useNumbers(field, column);
    return column;
  }

  /** Map order is use order: the first key is the least recently used, and goes past MAX_NUMBER_COLUMNS. */
  private useNumbers(field: string, column: NumberColumn): void {
    this.numbers.delete(field);
    this.numbers.set(field, column);
    if (this.numbers.size > MAX_NUMBER_COLUMNS) this.numbers.delete(this.numbers.keys().next().value!);
  }

  /** A field's values, read whole first if need be; undefined when they are too many or too long to hold. */
  async hold(store: FacetIndexStore, field: string, kind: FacetKind): Promise<FieldValues | undefined> {
    let values = this.fields.get(field);
    if (!values && this.suitable(field)) {
      values = await FieldValues.read(store, field, kind, await store.lastAssetRowid());
      if (values) this.fields.set(field, values);
      else this.tooVaried.add(field);
    }
    return values;
  }

  /** About which share of the library has one of these values of a held field (undefined when it is not held). */
  shareWith(field: string, keys: readonly FacetKey[]): number | undefined {
    return this.fields.get(field)?.shareWith(keys);
  }

  /**
   * Which assets have one of these values of a held field (lower-cased text, or numbers), as a mask by rowid: the
   * hits of a facet selection or of `status:Final`, without reading them from the index. undefined when the field
   * is not held.
   */
  assetsWith(field: string, keys: readonly FacetKey[]): Uint8Array | undefined {
    return this.fields.get(field)?.assetsWith(keys);
  }

  /**
   * A field's most frequent values among the hits (rowids; undefined: every asset), as SearchStore.facet counts
   * them; undefined when the field's values are too many or too long to hold. Reads the field first if needed.
   */
  async facet(store: FacetIndexStore, field: string, kind: FacetKind, hits: ArrayLike<number> | undefined, limit: number): Promise<FacetCount[] | undefined> {
    const values = await this.hold(store, field, kind);
    if (!values) return undefined;
    const top = values.top(values.count(hits), limit);
    if (kind.numeric) return top.map(({ key, hitCount }) => ({ value: String(key), key: String(key), hitCount }));
    const spellings = await store.spellings(field, top.map(({ key }) => key as string));
    return top.map(({ key, hitCount }) => ({ value: spellings.get(key as string) ?? (key as string), key: key as string, hitCount }));
  }
}

/**
 * One field's values by asset rowid: a compressed row table (the keys of rowid r are `keys[offsets[r]…offsets[r+1]]`),
 * and the assets changed since it was made on the side, until they are many enough to make it again.
 */
class FieldValues {
  private keyList: FacetKey[] = [];
  private keyIds = new Map<FacetKey, number>();
  /** Characters of the text keys (8 for a number). */
  private keyChars = 0;
  private offsets = new Int32Array(1);
  private keys = new Int32Array(0);
  /** Assets in the table per key id. */
  private keyAssets = new Int32Array(0);
  /**
   * When no asset has two values (status, assetDomain): each rowid's key id + 1, 0 for none, so that a mask is one
   * branchless pass (1,000,000 assets: 11 → 3 ms; over the row table a branch on each asset's values mispredicts).
   */
  private keyOf: Int32Array | undefined;
  /** Key ids of assets changed since the table was made (an empty list: no value, or removed). */
  private readonly changed = new Map<number, Int32Array>();

  private constructor(readonly kind: FacetKind) {}

  /** The whole field from its index (assets up to `lastRowid`); undefined when its values are too many or too long. */
  static async read(store: FacetIndexStore, field: string, kind: FacetKind, lastRowid: number): Promise<FieldValues | undefined> {
    const values = new FieldValues(kind);
    const rowids = new GrowingInt32();
    const keyIds = new GrowingInt32();
    // The value last taken for each asset: an asset with one value twice (`Metal` and `metal`) has it in one
    // group of rows, and counts once.
    const lastKeyOf = new Int32Array(lastRowid + 1).fill(-1);
    for (let after: FacetKey | undefined; ; ) {
      const page = await store.fieldPage(field, kind, after, READ_KEYS);
      for (const { key, rowids: assets } of page) {
        const id = values.keyId(kind.numeric ? Number(key) : key);
        for (const rowid of assets) {
          if (lastKeyOf[rowid] === id) continue;
          lastKeyOf[rowid] = id;
          rowids.push(rowid);
          keyIds.push(id);
        }
      }
      if (values.exceeds(1)) return undefined;
      if (page.length < READ_KEYS) break;
      after = page[page.length - 1]!.key;
    }
    values.makeTable(rowids.view(), keyIds.view());
    return values;
  }

  /** Whether the values are more than `factor` times the limits (MAX_FACET_KEYS, MAX_FACET_KEY_CHARS). */
  exceeds(factor: number): boolean {
    return this.keyList.length > factor * MAX_FACET_KEYS || this.keyChars > factor * MAX_FACET_KEY_CHARS;
  }

  /** An asset's keys now (none: it lost them, or was removed). */
  set(rowid: number, keys: FacetKey[]): void {
    const ids = new Set(keys.map((key) => this.keyId(this.kind.numeric ? Number(key) : key)));
    this.changed.set(rowid, Int32Array.from(ids));
  }

  /** About which share of the assets have one of the keys: as the table has it, without the changes since. */
  shareWith(keys: readonly FacetKey[]): number {
    const ids = new Set<number>();
    for (const key of keys) {
      const id = this.keyIds.get(this.kind.numeric ? Number(key) : key);
      if (id !== undefined) ids.add(id);
    }
    let assets = 0;
    for (const id of ids) assets += this.keyAssets[id] ?? 0;
    return assets / Math.max(1, this.offsets.length - 1);
  }

  /** A mask by rowid of the assets with one of the keys. */
  assetsWith(keys: readonly FacetKey[]): Uint8Array {
    const wanted = new Uint8Array(this.keyList.length);
    for (const key of keys) {
      const id = this.keyIds.get(this.kind.numeric ? Number(key) : key);
      if (id !== undefined) wanted[id] = 1;
    }
    const { offsets, keys: table, changed, keyOf } = this;
    const tableRows = offsets.length - 1;
    let size = tableRows;
    for (const rowid of changed.keys()) if (rowid >= size) size = rowid + 1;
    const has = new Uint8Array(size);
    if (keyOf) {
      const wantedOrNone = new Uint8Array(wanted.length + 1);
      wantedOrNone.set(wanted, 1);
      for (let rowid = 0; rowid < tableRows; rowid++) has[rowid] = wantedOrNone[keyOf[rowid]!]!;
    } else {
      // The row table in step, without a branch on each value.
      let index = 0;
      for (let rowid = 0; rowid < tableRows; rowid++) {
        const end = offsets[rowid + 1]!;
        let hit = 0;
        for (; index < end; index++) hit |= wanted[table[index]!]!;
        has[rowid] = hit;
      }
    }
    for (const [rowid, own] of changed) has[rowid] = own.some((id) => wanted[id] === 1) ? 1 : 0;
    return has;
  }

  /** Hits per key id. */
  count(hits: ArrayLike<number> | undefined): Int32Array {
    const counts = new Int32Array(this.keyList.length);
    const { offsets, keys, changed } = this;
    const tableRows = offsets.length - 1;
    if (hits === undefined) {
      for (let index = 0; index < keys.length; index++) counts[keys[index]!]!++;
      for (const [rowid, own] of changed) {
        if (rowid < tableRows) for (let index = offsets[rowid]!; index < offsets[rowid + 1]!; index++) counts[keys[index]!]!--;
        for (const id of own) counts[id]!++;
      }
      return counts;
    }
    const anyChanged = changed.size > 0;
    for (let hit = 0; hit < hits.length; hit++) {
      const rowid = hits[hit]!;
      const own = anyChanged ? changed.get(rowid) : undefined;
      if (own) {
        for (const id of own) counts[id]!++;
      } else if (rowid < tableRows) {
        for (let index = offsets[rowid]!; index < offsets[rowid + 1]!; index++) counts[keys[index]!]!++;
      }
    }
    return counts;
  }

  /** The `limit` keys with the most hits, ties by key as SQLite orders them. */
  top(counts: Int32Array, limit: number): Array<{ key: FacetKey; hitCount: number }> {
    let ids: number[] = [];
    for (let id = 0; id < counts.length; id++) if (counts[id]! > 0) ids.push(id);
    if (ids.length > limit) {
      // Only keys with at least the limit-th highest count can be in the answer.
      const highest = Int32Array.from(ids, (id) => counts[id]!).sort().reverse();
      const least = highest[limit - 1]!;
      ids = ids.filter((id) => counts[id]! >= least);
    }
    const byKey = this.kind.numeric ? (a: number, b: number) => (this.keyList[a] as number) - (this.keyList[b] as number) : (a: number, b: number) => compareAsSqlite(this.keyList[a] as string, this.keyList[b] as string);
    ids.sort((a, b) => counts[b]! - counts[a]! || byKey(a, b));
    return ids.slice(0, limit).map((id) => ({ key: this.keyList[id]!, hitCount: counts[id]! }));
  }

  /**
   * Makes the table again once the changed assets are a few percent of it (each hit then costs a map lookup), with
   * only the values some asset still has.
   */
  compactIfWorthIt(compactAfter: number): void {
    if (this.changed.size === 0 || this.changed.size < compactAfter + (this.offsets.length - 1) / 50) return;
    const { offsets, keys, changed, keyList } = this;
    this.keyList = [];
    this.keyIds = new Map();
    this.keyChars = 0;
    const renumbered = new Int32Array(keyList.length).fill(-1);
    const newId = (id: number) => (renumbered[id] === -1 ? (renumbered[id] = this.keyId(keyList[id]!)) : renumbered[id]!);
    const rowids = new GrowingInt32();
    const keyIds = new GrowingInt32();
    for (let rowid = 0; rowid < offsets.length - 1; rowid++) {
      if (changed.has(rowid)) continue;
      for (let index = offsets[rowid]!; index < offsets[rowid + 1]!; index++) {
        rowids.push(rowid);
        keyIds.push(newId(keys[index]!));
      }
    }
    for (const [rowid, own] of changed) {
      for (const id of own) {
        rowids.push(rowid);
        keyIds.push(newId(id));
      }
    }
    changed.clear();
    this.makeTable(rowids.view(), keyIds.view());
  }

  private keyId(key: FacetKey): number {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      id = this.keyList.length;
      this.keyList.push(key);
      this.keyIds.set(key, id);
      this.keyChars += typeof key === 'string' ? key.length : 8;
    }
    return id;
  }

  /** The row table of (rowid, key id) pairs in any order, each pair once. */
  private makeTable(rowids: Int32Array, keyIds: Int32Array): void {
    let lastRowid = 0;
    for (const rowid of rowids) if (rowid > lastRowid) lastRowid = rowid;
    const offsets = new Int32Array(lastRowid + 2);
    for (const rowid of rowids) offsets[rowid + 1]!++;
    for (let rowid = 1; rowid < offsets.length; rowid++) offsets[rowid]! += offsets[rowid - 1]!;
    const next = offsets.slice(0, -1);
    const keys = new Int32Array(rowids.length);
    for (let index = 0; index < rowids.length; index++) keys[next[rowids[index]!]!++] = keyIds[index]!;
    const keyAssets = new Int32Array(this.keyList.length);
    for (const id of keys) keyAssets[id]!++;
    this.offsets = offsets;
    this.keys = keys;
    this.keyAssets = keyAssets;
    let single = true;
    for (let rowid = 0; single && rowid < offsets.length - 1; rowid++) single = offsets[rowid + 1]! - offsets[rowid]! <= 1;
    this.keyOf = single ? Int32Array.from({ length: offsets.length - 1 }, (_, rowid) => (offsets[rowid + 1]! > offsets[rowid]! ? keys[offsets[rowid]!]! + 1 : 0)) : undefined;
  }
}

/** The rowids every mask (at least one) holds: of `candidates` (in their order), or of all assets. */
export function rowidsInAll(masks: readonly Uint8Array[], candidates?: ArrayLike<number>): Int32Array {
  const length = Math.min(...masks.map((mask) => mask.length));
  // All but the last ANDed into one first (when three or more); the last is ANDed in as the rowids are taken.
  let all = masks[0]!;
  const last = masks[masks.length - 1]!;
  if (masks.length > 2) {
    all = all.slice(0, length);
    for (const other of masks.slice(1, -1)) for (let rowid = 0; rowid < length; rowid++) all[rowid]! &= other[rowid]!;
  }
  if (candidates) {
    const found = new GrowingInt32();
    for (let index = 0; index < candidates.length; index++) {
      const rowid = candidates[index]!;
      if (rowid < length && (all[rowid]! & last[rowid]!) === 1) found.push(rowid);
    }
    return found.view().slice();
  }
  // Every rowid written, the count moved on by the masks' bit: no branch to mispredict (1,000,000 assets: 13 → 3 ms).
  const found = new Int32Array(length);
  let count = 0;
  for (let rowid = 0; rowid < length; rowid++) {
    found[count] = rowid;
    count += all[rowid]! & last[rowid]!;
  }
  return found.slice(0, count);
}

/**
 * SQLite's order of text (BINARY: UTF-8 bytes, that is code points). UTF-16 order is the same but for the
 * surrogates of code points beyond U+FFFF, which must sort after U+E000-U+FFFF rather than before.
 */
export function compareAsSqlite(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

const codePointRank = (unit: number) => (unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit);

/** An Int32Array that grows as values are pushed. */
class GrowingInt32 {
  private data = new Int32Array(1024);
  private length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}
