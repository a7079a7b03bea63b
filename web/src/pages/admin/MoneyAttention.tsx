// Money waiting for a person (GET /api/payments/admin/attention), read when the console opens and again in the
// background (every minute while the browser tab is in sight, at once when it comes back; lib/backgroundRefresh): the
// Money tab's count of what needs an operator, and the "Needs you" summary at the top of the Money page, which reads it
// again when it opens and after each of its actions (the tab's count follows). When a background read moves the
// figures, the Money page reads the lists that show them again (`moved`), quietly.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type MouseEvent, type ReactNode } from "react";
import { useSearchParams } from "react-router-dom";
import { api, errorOf } from "../../api/client";
import { useSession } from "../../auth/session";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { useBackgroundRefresh } from "../../lib/backgroundRefresh";
import { formatSince } from "../../lib/dates";
import { formatKES } from "../../lib/money";
import {
  attentionLines, handledHref, listsToReadAgain, needingAction, type AttentionLine, type Handled, type MoneyWaiting,
} from "../../lib/attention";
import { ErrorAlert } from "../../components/ui";

async function readAttention(signal?: AbortSignal) {
  const { data, error, response } = await api.GET("/api/payments/admin/attention", { signal });
  return data ? { data: data.data } : { error: errorOf(error, response.status) };
}

/** The figures, for an operator only (a customer's session never asks the admin endpoint). A read asked for (the
 *  Money page's) drops a background read under way, and no background read starts while one asked for is under
 *  way: never two at once. A background read that fails shows nothing and keeps the figures. */
function useAttentionLoad() {
  const { isAdmin } = useSession();
  const load = useLoad<MoneyWaiting[]>(async () => (isAdmin ? readAttention() : {}), [isAdmin]);
  const loading = useRef(load.loading);
  loading.current = load.loading;
  const asked = useRef(0);
  const { setData, setError, reload: reloadNow } = load;
  const shown = useRef(load.data);
  shown.current = load.data;
  // The Money page's lists to read again after a background read moved the figures (a new object each time).
  const [moved, setMoved] = useState<{ lists: readonly Handled["section"][] }>({ lists: [] });
  const cancelBackground = useBackgroundRefresh(isAdmin, {
    read: async (signal) => (await readAttention(signal)).data,
    onAnswer: (data) => {
      const lists = listsToReadAgain(shown.current, data);
      setData(data);
      setError(null);
      if (lists.length > 0) setMoved({ lists });
    },
    busy: () => asked.current > 0 || loading.current,
  });
  const reload = useCallback(async () => {
    cancelBackground();
    asked.current++;
    try {
      await reloadNow();
    } finally {
      asked.current--;
    }
  }, [cancelBackground, reloadNow]);
  return { ...load, reload, moved };
}

type Attention = ReturnType<typeof useAttentionLoad>;
const Ctx = createContext<Attention | null>(null);

export function AttentionProvider({ children }: { children: ReactNode }) {
  return <Ctx.Provider value={useAttentionLoad()}>{children}</Ctx.Provider>;
}

/** The console's figures (AttentionProvider, in AdminLayout). */
export function useAttention(): Attention {
  const attention = useContext(Ctx);
  if (!attention) throw new Error("useAttention outside AttentionProvider");
  return attention;
}

/** The Money tab's count: a badge, "3 need you" to a screen reader; nothing when none. */
export function AttentionBadge() {
  const { t } = useI18n();
  const count = needingAction(useAttention().data);
  if (count <= 0) return null;
  return (
    <>
      {" "}<span className="tab-count" aria-hidden="true">{count}</span>
      <span className="sr-only">{t("attention.badge", { count })}</span>
    </>
  );
}

/** "Needs you": one line per kind of money waiting, each linking to where the page handles it. */
export function NeedsYou({ waiting }: { waiting: Attention }) {
  const { t } = useI18n();
  const { reload, loading } = waiting;
  // Read again each time the page opens (the console's first read is still under way when it opens with it).
  useEffect(() => {
    if (!loading) void reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const lines = attentionLines(waiting.data);
  return (
    <section className="card stack-sm needs-you" aria-labelledby="needs-you">
      <h2 id="needs-you">{t("attention.title")}</h2>
      <ErrorAlert error={waiting.error} />
      {waiting.data && (lines.length === 0 ? <p className="muted">{t("attention.none")}</p> : (
        <ul className="needs-you-list">
          {lines.map((line) => <NeedsYouLine key={line.what} line={line} />)}
        </ul>
      ))}
    </section>
  );
}

function NeedsYouLine({ line }: { line: AttentionLine }) {
  const { t, lang } = useI18n();
  const [, setParams] = useSearchParams();
  const label = t(line.label);
  // In the page: the refunds list filtered to the line's status, then its section scrolled to and focused.
  const go = (e: MouseEvent<HTMLAnchorElement>) => {
    const handled = line.handled;
    if (!handled || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (handled.refunds) setParams(new URLSearchParams({ refunds: handled.refunds }));
    const heading = document.getElementById(handled.section);
    heading?.scrollIntoView({ block: "start" });
    heading?.focus({ preventScroll: true });
  };
  return (
    <li data-attention={line.what}>
      {line.handled ? <a href={handledHref(line.handled)} onClick={go}>{label}</a> : <span>{label}</span>}
      <span className="needs-you-figures">
        {[t("attention.waiting", { count: line.count }), formatKES(line.kes),
          line.oldestAt ? t("attention.since", { when: formatSince(line.oldestAt, lang) }) : null]
          .filter(Boolean).join(" · ")}
      </span>
    </li>
  );
}
