import { api, errorOf, type ApiError } from "../api/client";

export type CsvReport = "rent-roll" | "aging" | "revenue";

/** The report's file name: `jesh-<report>-<YYYY-MM-DD>.csv`. */
export function csvFileName(report: CsvReport, day: string): string {
  return `jesh-${report}-${day}.csv`;
}

async function fetchCsv(report: CsvReport, range: { from?: string; to?: string }) {
  const init = { parseAs: "text" as const };
  switch (report) {
    case "rent-roll":
      return api.GET("/api/billing/reports/rent-roll", { ...init, params: { query: { format: "csv" } } });
    case "aging":
      return api.GET("/api/billing/reports/aging", { ...init, params: { query: { format: "csv" } } });
    case "revenue":
      return api.GET("/api/billing/reports/revenue", { ...init, params: { query: { format: "csv", ...range } } });
  }
}

/** Fetch a report as CSV (with the admin's token: a plain link would go without it) and hand it to the browser
 * as a file download. Answers the error, or null once the download has started. */
export async function downloadCsv(report: CsvReport, day: string, range: { from?: string; to?: string } = {}): Promise<ApiError | null> {
  const { data, error, response } = await fetchCsv(report, range);
  if (typeof data !== "string") return errorOf(error, response.status);
  const url = URL.createObjectURL(new Blob([data], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = csvFileName(report, day);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return null;
}
