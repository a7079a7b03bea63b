// Kenyan mobile numbers in the forms the API accepts: 07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX, 2547XXXXXXXX (and 1).

/** The 2547XXXXXXXX / 2541XXXXXXXX form, or null when it is not a Kenyan mobile number. */
export function normalizeKenyanPhone(input: string): string | null {
  const digits = input.replace(/[\s-]/g, "").replace(/^\+/, "");
  let m = /^0([17]\d{8})$/.exec(digits);
  if (m) return `254${m[1]}`;
  m = /^254([17]\d{8})$/.exec(digits);
  if (m) return `254${m[1]}`;
  return null;
}

/** 254712345678 -> "0712 345 678", the way people write it. */
export function displayPhone(phone: string | null | undefined): string {
  const n = phone ? normalizeKenyanPhone(phone) : null;
  if (!n) return phone ?? "";
  const local = `0${n.slice(3)}`;
  return `${local.slice(0, 4)} ${local.slice(4, 7)} ${local.slice(7)}`;
}
