/** Several newest-first lists, each paged by its own cursor (one per service), shown as one list newest first.
 *
 *  Each source holds the rows loaded so far and whether it has more. A row is shown only when no source that has
 *  more could still hold a newer one: not older than the oldest row loaded from any source that has more (the
 *  horizon; a source with more and nothing loaded yet hides everything). "Older" loads the next page of the sources
 *  at the horizon, so rows never appear out of order. `at` gives a row's time as a string that sorts (UTC ISO). */
export type Source<T> = { rows: T[]; more: boolean };

export function merged<T>(sources: Source<T>[], at: (row: T) => string): { rows: T[]; more: boolean } {
  const all = sources.flatMap((s) => s.rows).sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0));
  const edge = horizon(sources, at);
  return { rows: edge === undefined ? all : all.filter((row) => at(row) >= edge), more: sources.some((s) => s.more) };
}

/** Indexes of the sources to load next: those with more whose oldest loaded row is the horizon (or none loaded). */
export function toLoadNext<T>(sources: Source<T>[], at: (row: T) => string): number[] {
  const edge = horizon(sources, at);
  return sources.flatMap((s, i) => (s.more && (s.rows.length === 0 || oldest(s, at) === edge) ? [i] : []));
}

function oldest<T>(source: Source<T>, at: (row: T) => string): string | undefined {
  return source.rows.reduce<string | undefined>((min, row) => (min === undefined || at(row) < min ? at(row) : min), undefined);
}

const EVERYTHING_HIDDEN = "\uffff"; // after any time

function horizon<T>(sources: Source<T>[], at: (row: T) => string): string | undefined {
  let edge: string | undefined;
  for (const s of sources) {
    if (!s.more) continue;
    const o = oldest(s, at) ?? EVERYTHING_HIDDEN;
    if (edge === undefined || o > edge) edge = o;
  }
  return edge;
}
