// The number customers call: notifications' SUPPORT_PHONE, the one its messages give, read from
// GET /api/notifications/support so that the portal never shows another.
import { useEffect, useState } from "react";
import { publicApi } from "../api/client";

/** A `tel:` link to a number as people write it: "0711 222 333" -> "tel:0711222333", "+254 711 222 333" ->
 *  "tel:+254711222333"; null when it holds no digit. */
export function telHref(phone: string): string | null {
  const digits = phone.replace(/\D/g, "");
  if (!digits) return null;
  return `tel:${phone.trim().startsWith("+") ? "+" : ""}${digits}`;
}

let asked: Promise<string | null> | null = null;
let known: string | null = null;

/** Asked once per page load; null when the service cannot say (the texts then leave the number out). */
function loadSupportPhone(): Promise<string | null> {
  asked ??= publicApi.GET("/api/notifications/support").then(
    ({ data }) => (known = data?.data.phone.trim() || null),
    () => null,
  );
  return asked;
}

/** The support number, or null while it loads or when it could not be read. */
export function useSupportPhone(): string | null {
  const [phone, setPhone] = useState(known);
  useEffect(() => {
    let mounted = true;
    void loadSupportPhone().then((p) => {
      if (mounted) setPhone(p);
    });
    return () => {
      mounted = false;
    };
  }, []);
  return phone;
}
