import { useI18n } from "../i18n/i18n";
import { hasNextPage, previousOffset } from "../lib/paging";
import { useFilterParams } from "../lib/useFilterParams";

/** The previous and next pages of a list read `limit` rows at a time from `?offset=` in the URL (offsetParam).
 *  The lists have no total: a page that came back full may have a next one. Nothing when there is one page. */
export function Pager({ label, offset, rows, limit, busy }: {
  label: string; offset: number; rows: number; limit: number; busy: boolean;
}) {
  const { t } = useI18n();
  const [, set] = useFilterParams();
  const more = hasNextPage(rows, limit);
  if (offset === 0 && !more) return null;
  return (
    <nav className="actions" aria-label={label}>
      <button type="button" className="btn btn-secondary" disabled={offset === 0 || busy}
        onClick={() => { const previous = previousOffset(offset, limit); set("offset", previous ? String(previous) : ""); }}>
        {t("common.previous")}
      </button>
      <button type="button" className="btn btn-secondary" disabled={!more || busy}
        onClick={() => set("offset", String(offset + limit))}>
        {t("common.next")}
      </button>
    </nav>
  );
}
