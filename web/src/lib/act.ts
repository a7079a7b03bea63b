import { errorOf, type ApiError } from "../api/client";

/** An operator's action on the API: its data, or the error to show: the server's, or, when the request never got an
 *  answer (fetch rejects: offline, the connection dropped), a network error (status 0: "We could not reach Jesh
 *  Storage"). Never a rejection, which left the action's button busy for good and said nothing. */
export async function act<T>(
  call: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data?: T; error?: ApiError }> {
  try {
    const { data, error, response } = await call();
    return data !== undefined ? { data } : { error: errorOf(error, response.status, response) };
  } catch {
    return { error: { message: "", status: 0 } };
  }
}
