// 429 answers say in Retry-After how long to wait: the portal tells the customer in words.

/** Seconds to wait from a Retry-After header (delay-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  const text = value?.trim() ?? "";
  if (text === "") return undefined;
  if (/^\d+$/.test(text)) return Math.max(1, Number(text));
  if (!/^[A-Za-z]{3}, /.test(text)) return undefined; // an HTTP date starts with its day name; "-3" is no date
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(1, Math.ceil((at - now) / 1000));
}

export type WaitUnit = "second" | "seconds" | "minute" | "minutes" | "hours";

/** A wait in the unit people would say, rounded up: seconds under a minute, minutes up to 90, hours beyond. */
export function describeWait(seconds: number): { unit: WaitUnit; n: number } {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return { unit: s === 1 ? "second" : "seconds", n: s };
  const minutes = Math.ceil(s / 60);
  if (minutes <= 90) return { unit: minutes === 1 ? "minute" : "minutes", n: minutes };
  return { unit: "hours", n: Math.ceil(s / 3600) };
}
