// Dates the way the business counts them: calendar days in Nairobi (Africa/Nairobi, UTC+3 all year).
// The server decides "today" in Nairobi too, so a customer's phone set to another zone must not shift it.

export const NAIROBI = "Africa/Nairobi";

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** YYYY-MM-DD of an instant, in Nairobi. */
export function nairobiDate(instant: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: NAIROBI, year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Is this a real calendar date in YYYY-MM-DD form? */
export function isIsoDate(value: string): boolean {
  const m = ISO_DAY.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === value;
}

/** A day given in a URL (`?from=`): itself when it is a real YYYY-MM-DD date, else null (absent or hand-made). */
export function dayParam(value: string | null): string | null {
  return value !== null && isIsoDate(value) ? value : null;
}

function toUtcNoon(day: string): Date {
  if (!isIsoDate(day)) throw new RangeError(`not a date: ${day}`);
  return new Date(`${day}T12:00:00Z`);
}

/** day + n calendar days (n may be negative). */
export function addDays(day: string, n: number): string {
  const d = toUtcNoon(day);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Whole days from start to end (end exclusive, like a booking's end_date). */
export function daysBetween(start: string, end: string): number {
  return Math.round((toUtcNoon(end).getTime() - toUtcNoon(start).getTime()) / 86_400_000);
}

export type Lang = "en" | "sw";
const LOCALE: Record<Lang, string> = { en: "en-KE", sw: "sw-KE" };

/** "Tue, 1 Dec 2026" for a calendar day (no time zone shift: it is a day, not an instant). */
export function formatDay(day: string | null | undefined, lang: Lang): string {
  if (!day) return "";
  if (!isIsoDate(day)) return day;
  return new Intl.DateTimeFormat(LOCALE[lang], {
    timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric",
  }).format(toUtcNoon(day));
}

/** An ISO timestamp shown in Nairobi time, e.g. "1 Dec 2026, 14:05". */
export function formatInstant(iso: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(LOCALE[lang], {
    timeZone: NAIROBI, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    hour12: false,
  }).format(d);
}

/** Since when something has waited, in Nairobi time: "3 Dec, 10:42" within the year it is now in Nairobi, with the
 *  year otherwise ("3 Dec 2025, 10:42"). */
export function formatSince(iso: string, lang: Lang, now: Date = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (nairobiDate(d).slice(0, 4) !== nairobiDate(now).slice(0, 4)) return formatInstant(iso, lang);
  return new Intl.DateTimeFormat(LOCALE[lang], {
    timeZone: NAIROBI, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(d);
}

/** The time of day of an ISO timestamp in Nairobi, e.g. "14:05" (a list of one day's entries). */
export function formatTime(iso: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(LOCALE[lang], {
    timeZone: NAIROBI, hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(d);
}

/**
 * A value for <input type="datetime-local"> (which has no zone) read as Nairobi time, as an ISO instant with
 * its offset: "2026-12-05T09:30" -> "2026-12-05T09:30:00+03:00".
 */
export function nairobiLocalToIso(local: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!m || !isIsoDate(m[1]!)) return null;
  return `${m[1]}T${m[2]}:${m[3]}:00+03:00`;
}

/** Seconds left until an instant (0 once passed). */
export function secondsUntil(iso: string, now: Date = new Date()): number {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return 0;
  return Math.max(0, Math.floor((t - now.getTime()) / 1000));
}
