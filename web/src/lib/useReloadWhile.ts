import { useEffect } from "react";

/** While `waiting`, ask again every `everyMs`, for at most `forMs` from when the wait began. A payment reaches a
 *  booking or an invoice by an event, so the row that shows it changes a moment after the payment itself. */
export function useReloadWhile(waiting: boolean, reload: () => unknown, everyMs = 1500, forMs = 120_000) {
  useEffect(() => {
    if (!waiting) return;
    const until = Date.now() + forMs;
    const h = setInterval(() => {
      if (Date.now() > until) clearInterval(h);
      else void reload();
    }, everyMs);
    return () => clearInterval(h);
  }, [waiting, reload, everyMs, forMs]);
}
