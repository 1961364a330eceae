/** Damson's own query tree: what the Assets query language means, independent of how it is stored. */
export type QueryNode =
  | { kind: 'all' }
  | { kind: 'and'; children: QueryNode[] }
  | { kind: 'or'; children: QueryNode[] }
  | { kind: 'not'; child: QueryNode }
  /**
   * `field` null = the full text of the asset. `pattern`: the value contains `*`/`?` wildcards. `fuzzy`: words
   * within `edits` edits of the value (when not given, Lucene's automatic distance for its length).
   */
  | { kind: 'term'; field: string | null; value: string; phrase: boolean; pattern: boolean; fuzzy: boolean; edits?: number }
  /** Bounds are already typed: numbers (and dates as epoch ms) or text; null is open. */
  | { kind: 'range'; field: string; min: number | string | null; max: number | string | null; minInclusive: boolean; maxInclusive: boolean };

/** A query that matches no asset (a fuzzy term with no near word, a relation search while there are no relations). */
export const NOTHING: QueryNode = { kind: 'not', child: { kind: 'all' } };
