import { api, errorOf, type ApiError, type authSchemas } from "../api/client";
import { distinctIds, idBatches } from "./customers";
import { useLoad } from "./useLoad";

export type Customer = authSchemas["AccountOut"];
export type CustomerDetail = authSchemas["AccountDetailOut"];

/** The accounts of these ids, by id: one `GET /api/auth/users?ids=` per 200 distinct ids (a page of rows: one). */
export async function loadCustomersById(
  ids: Iterable<number | null | undefined>,
): Promise<{ data?: Map<number, Customer>; error?: ApiError }> {
  const answers = await Promise.all(idBatches(ids).map(async (batch) => {
    const { data, error, response } = await api.GET("/api/auth/users", {
      params: { query: { ids: batch.join(","), limit: batch.length } },
    });
    return data ? { rows: data.data } : { error: errorOf(error, response.status) };
  }));
  const failed = answers.find((a) => a.error);
  if (failed) return { error: failed.error };
  return { data: new Map(answers.flatMap((a) => a.rows ?? []).map((c) => [c.id, c])) };
}

const EMPTY = new Map<number, Customer>();

/** The customers behind the ids of a table's rows, asked for together whenever that set of ids changes. Until they
 *  come (or if auth does not answer) the map is empty and the table shows the ids alone, as it always did. */
export function useCustomers(ids: Iterable<number | null | undefined>): Map<number, Customer> {
  const key = distinctIds(ids).join(",");
  const loaded = useLoad(
    async () => (key ? loadCustomersById(key.split(",").map(Number)) : { data: new Map<number, Customer>() }),
    [key],
  );
  return loaded.data ?? EMPTY;
}
