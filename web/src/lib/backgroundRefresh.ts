// Figures kept fresh in the background while the page is in sight (the console's count of money waiting for an
// operator): read every minute while the browser tab is visible, at once when it comes back into sight, never while
// it is hidden; never two reads at once; a failed read changes nothing shown and the next tick tries again.
import { useCallback, useEffect, useRef } from "react";

/** Whether the page is in sight, and word when that changes (the document's visibilityState; tests give their own). */
export interface Visibility {
  visible: () => boolean;
  /** Calls `changed` at each change; returns its unsubscribe. */
  onChange: (changed: () => void) => () => void;
}

/** The browser tab's visibility: document.visibilityState and its visibilitychange event. */
export function documentVisibility(doc: Pick<Document, "visibilityState" | "addEventListener" | "removeEventListener"> = document): Visibility {
  return {
    visible: () => doc.visibilityState !== "hidden",
    onChange: (changed) => {
      doc.addEventListener("visibilitychange", changed);
      return () => doc.removeEventListener("visibilitychange", changed);
    },
  };
}

export interface BackgroundRefreshOptions<T> {
  /** One read: an answer, or undefined (or a throw) when it failed. `signal` is aborted when the read is dropped. */
  read: (signal: AbortSignal) => Promise<T | undefined>;
  /** A successful read's answer. Never called for a failed or dropped one: what is shown stays as it was. */
  onAnswer: (value: T) => void;
  /** Another read of the same figures is under way (the page's own): the tick is left out, that read will tell. */
  busy?: () => boolean;
  /** Between two reads while visible; 60 s. */
  everyMs?: number;
  visibility?: Visibility;
}

export interface BackgroundRefresh {
  /** No more reads; the one under way, if any, is dropped. */
  stop: () => void;
  /** Drop the read under way (a newer read of the same figures supersedes it); the ticks go on. */
  cancel: () => void;
}

export const BACKGROUND_REFRESH_MS = 60_000;

/** Read every `everyMs` while visible (not at start: the caller has just read), at once on becoming visible again. */
export function startBackgroundRefresh<T>(options: BackgroundRefreshOptions<T>): BackgroundRefresh {
  const everyMs = options.everyMs ?? BACKGROUND_REFRESH_MS;
  const visibility = options.visibility ?? documentVisibility();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let reading: AbortController | null = null;
  let stopped = false;

  const schedule = () => {
    if (timer !== null) clearTimeout(timer);
    timer = stopped ? null : setTimeout(tick, everyMs);
  };
  const unschedule = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };

  const readNow = async () => {
    if (stopped || reading || options.busy?.()) return;
    const mine = new AbortController();
    reading = mine;
    let answer: T | undefined;
    try {
      answer = await options.read(mine.signal);
    } catch {
      answer = undefined; // kept as it was; the next tick tries again
    } finally {
      if (reading === mine) reading = null;
    }
    if (answer !== undefined && !mine.signal.aborted && !stopped) options.onAnswer(answer);
  };

  // No timer while hidden (found so by a tick too, should the change have gone unheard): the next change to visible
  // reads at once and starts the ticks again.
  function tick() {
    timer = null;
    if (stopped || !visibility.visible()) return;
    schedule();
    void readNow();
  }

  const unsubscribe = visibility.onChange(() => {
    if (!visibility.visible()) unschedule();
    else if (timer === null && !stopped) {
      schedule();
      void readNow();
    }
  });
  if (visibility.visible()) schedule();

  const cancel = () => {
    reading?.abort();
    reading = null;
  };
  return {
    cancel,
    stop: () => {
      stopped = true;
      unschedule();
      unsubscribe();
      cancel();
    },
  };
}

/** startBackgroundRefresh while `enabled` (a signed-in operator's console), stopped when it is not or on leaving.
 *  The callbacks may change at each render without restarting the ticks. Returns `cancel`, stable. */
export function useBackgroundRefresh<T>(enabled: boolean, options: BackgroundRefreshOptions<T>): () => void {
  const latest = useRef(options);
  latest.current = options;
  const running = useRef<BackgroundRefresh | null>(null);
  const everyMs = options.everyMs;
  const visibility = options.visibility;
  useEffect(() => {
    if (!enabled) return;
    const refresh = startBackgroundRefresh<T>({
      read: (signal) => latest.current.read(signal),
      onAnswer: (value) => latest.current.onAnswer(value),
      busy: () => latest.current.busy?.() ?? false,
      everyMs,
      visibility,
    });
    running.current = refresh;
    return () => {
      refresh.stop();
      if (running.current === refresh) running.current = null;
    };
  }, [enabled, everyMs, visibility]);
  return useCallback(() => running.current?.cancel(), []);
}
