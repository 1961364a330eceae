/** The parts of the `lucene` package's parse tree that Damson reads. */
declare module 'lucene' {
  export interface Location {
    start: { offset: number };
    end: { offset: number };
  }
  export interface TermNode {
    field: string;
    term: string;
    quoted: boolean;
    regex: boolean;
    similarity: number | null;
    proximity?: number | null;
    boost: number | null;
    prefix: '+' | '-' | '!' | null;
    termLocation?: Location;
  }
  export interface RangeNode {
    field: string;
    term_min: string;
    term_max: string;
    inclusive: 'both' | 'none' | 'left' | 'right';
  }
  export interface BinaryNode {
    left: Node;
    operator?: string;
    right?: Node;
    start?: string;
    parenthesized?: boolean;
    field?: string;
  }
  export type Node = TermNode | RangeNode | BinaryNode;
  export function parse(query: string): Node;
  const lucene: { parse: typeof parse };
  export default lucene;
}
