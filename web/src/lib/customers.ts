// The operator console's customer directory (auth's GET /api/auth/users): what is worked out before asking.

/** The most ids one `GET /api/auth/users?ids=` takes. */
export const MAX_IDS_PER_REQUEST = 200;

/** The longest search the server takes (`q`, 1–100 characters). */
export const MAX_QUERY_LENGTH = 100;

/** A search box's text as the `q` to send: spaces trimmed and runs of them made one, cut to what the server takes;
 *  undefined when nothing is left (no search). A phone number goes as typed (0712 345 678, +254 712…): the server
 *  reads every Kenyan form. */
export function searchQuery(input: string | null | undefined): string | undefined {
  const q = (input ?? "").trim().replace(/\s+/g, " ").slice(0, MAX_QUERY_LENGTH).trim();
  return q || undefined;
}

/** The distinct customer ids of a page of rows, in order (rows with none, or a bad one, skipped). */
export function distinctIds(ids: Iterable<number | null | undefined>): number[] {
  const seen = new Set<number>();
  for (const id of ids) if (typeof id === "number" && Number.isSafeInteger(id) && id > 0) seen.add(id);
  return [...seen].sort((a, b) => a - b);
}

/** Those ids in batches the server takes, one request each (one for a page of up to 200 rows). */
export function idBatches(ids: Iterable<number | null | undefined>, size = MAX_IDS_PER_REQUEST): number[][] {
  const all = distinctIds(ids);
  const batches: number[][] = [];
  for (let i = 0; i < all.length; i += size) batches.push(all.slice(i, i + size));
  return batches;
}
