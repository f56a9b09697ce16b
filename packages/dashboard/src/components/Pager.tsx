// Cursor pagination: the server gives a nextCursor; going back pops the cursors seen so far.
import { useState } from 'preact/hooks';

export interface Cursors {
  /** The cursor of the page shown (undefined for the first). */
  cursor: string | undefined;
  page: number;
  next: (cursor: string) => void;
  prev: () => void;
  reset: () => void;
}

/** Keeps the stack of cursors of the pages before this one. */
export function useCursors(): Cursors {
  const [stack, setStack] = useState<Array<string | undefined>>([undefined]);
  return {
    cursor: stack[stack.length - 1],
    page: stack.length,
    next: (cursor) => setStack((s) => [...s, cursor]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

export function Pager(props: {
  cursors: Cursors;
  nextCursor: string | null | undefined;
  total?: number;
  pageSize: number;
  shown: number;
  /** Newest-first lists say "Newer" and "Older". */
  labels?: [string, string];
}) {
  const { cursors, nextCursor, total, pageSize, shown } = props;
  const [prevLabel, nextLabel] = props.labels ?? ['Previous', 'Next'];
  const first = (cursors.page - 1) * pageSize;
  return (
    <div class="pager">
      <span class="muted">
        {shown === 0 ? 'none' : `${first + 1}–${first + shown}`}
        {total !== undefined ? ` of ${total.toLocaleString()}` : ''}
      </span>
      <button type="button" disabled={cursors.page <= 1} onClick={cursors.prev}>
        ← {prevLabel}
      </button>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && cursors.next(nextCursor)}>
        {nextLabel} →
      </button>
    </div>
  );
}
