import type { ApiError } from "../api/client";

// Lists read a page at a time by `limit` and `offset` (booking's and billing's answer 200 rows when no limit is given,
// at most 1000; auth's directory likewise by its own limit). None says how many rows there are in all.

/** The most rows booking's and billing's lists answer at once. */
export const MOST_ROWS = 1000;

/** A page's offset from the URL: a whole number from 0, else 0. */
export function offsetParam(value: string | null | undefined): number {
  const n = Number(value);
  return value && Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** The list has no total: a page that came back full may have a next one. */
export function hasNextPage(rowsOnPage: number, limit: number): boolean {
  return rowsOnPage >= limit;
}

/** The offset of the page before (never below 0). */
export function previousOffset(offset: number, limit: number): number {
  return Math.max(0, offset - limit);
}

/** Every page of a list paged by limit and offset: pages are asked for until one comes back short. */
export async function allPages<T>(
  page: (offset: number, limit: number) => Promise<{ rows?: T[]; error?: ApiError }>,
  limit: number,
): Promise<{ rows?: T[]; error?: ApiError }> {
  const rows: T[] = [];
  for (let offset = 0; ; offset += limit) {
    const answer = await page(offset, limit);
    if (!answer.rows) return { error: answer.error };
    rows.push(...answer.rows);
    if (answer.rows.length < limit) return { rows };
  }
}
