import { api, errorOf, type ApiError } from "../api/client";
import { allPages } from "./paging";

/** The file's name: `jesh-my-data-<YYYY-MM-DD>.json`. */
export function myDataFileName(day: string): string {
  return `jesh-my-data-${day}.json`;
}

const PAGE = 1000;
const MESSAGES = 500; // the most the messages list gives (the newest)

/** Everything the customer can read about themselves, from every service, as one JSON document (Kenya's Data
 *  Protection Act: a data subject may ask for a copy of their data). Answers the document or the first error. */
export async function collectMyData(now: Date): Promise<{ data?: Record<string, unknown>; error?: ApiError }> {
  const read = async <T,>(call: Promise<{ data?: T; error?: unknown; response: Response }>) => {
    const { data, error, response } = await call;
    return data !== undefined ? { rows: data } : { error: errorOf(error, response.status, response) };
  };
  const [profile, bookings, invoices, transport, messages, preferences] = await Promise.all([
    read(api.GET("/api/auth/profile", {})), // the compat shape: the account itself, no envelope
    allPages(async (offset, limit) => {
      const { data, error, response } = await api.GET("/api/bookings", { params: { query: { offset, limit } } });
      return data ? { rows: data.data } : { error: errorOf(error, response.status, response) };
    }, PAGE),
    allPages(async (offset, limit) => {
      const { data, error, response } = await api.GET("/api/invoices", { params: { query: { offset, limit } } });
      return data ? { rows: data.data } : { error: errorOf(error, response.status, response) };
    }, PAGE),
    allPages(async (offset, limit) => {
      const { data, error, response } = await api.GET("/api/transport-requests", { params: { query: { offset, limit } } });
      return data ? { rows: data.data } : { error: errorOf(error, response.status, response) };
    }, PAGE),
    read(api.GET("/api/notifications", { params: { query: { limit: MESSAGES } } })),
    read(api.GET("/api/notifications/preferences", {})),
  ]);
  const failed = [profile, bookings, invoices, transport, messages, preferences].find((part) => part.error);
  if (failed) return { error: failed.error };
  return {
    data: {
      exported_at: now.toISOString(),
      account: profile.rows,
      bookings: bookings.rows,
      invoices: invoices.rows,
      transport_requests: transport.rows,
      messages: messages.rows?.data,
      message_preferences: preferences.rows?.data,
    },
  };
}

/** Hand a JSON document to the browser as a file download. */
export function downloadJson(document_: unknown, fileName: string): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
