import { Fragment, useState } from "react";
import { Link } from "react-router-dom";
import { api, type ApiError } from "../../api/client";
import { act } from "../../lib/act";
import { useI18n } from "../../i18n/i18n";
import { useFilterParams } from "../../lib/useFilterParams";
import { useLoad } from "../../lib/useLoad";
import { awaitingPayment, loadBookings, loadUnitIndex } from "../../lib/bookings";
import { useCustomers } from "../../lib/customerNames";
import { formatDay } from "../../lib/dates";
import { offsetParam } from "../../lib/paging";
import { Price } from "../../components/Price";
import { ErrorAlert, PageTitle, SelectField, Spinner, StatusBadge, TextField } from "../../components/ui";
import { CustomerName } from "./customerParts";
import { PromptRow, useRowPrompts } from "./PromptRow";
import { Pager } from "../../components/Pager";

const STATUSES = ["pending", "confirmed", "cancelled"] as const;
const PAGE = 200;
type Status = (typeof STATUSES)[number];

export function AdminBookings() {
  const { t, lang } = useI18n();
  const [params, set] = useFilterParams();
  const status = (STATUSES as readonly string[]).includes(params.get("status") ?? "") ? (params.get("status") as Status) : undefined;
  const unitId = Number(params.get("unit_id")) || undefined;
  const userId = Number(params.get("user_id")) || undefined;
  const owingRefund = params.get("refund_status") === "required" ? ("required" as const) : undefined;
  const offset = offsetParam(params.get("offset"));
  const units = useLoad(() => loadUnitIndex(), []);
  const bookings = useLoad(() => loadBookings({
    status, unit_id: unitId, user_id: userId, refund_status: owingRefund, limit: PAGE, offset,
  }), [status, unitId, userId, owingRefund, offset]);
  // Another filter starts again from the first page.
  const filter = (key: string, value: string) => set({ [key]: value, offset: "" });
  // One batch request for the names of the customers of the rows shown.
  const customers = useCustomers(bookings.data?.map((b) => b.user_id) ?? []);
  const [userInput, setUserInput] = useState(userId ? String(userId) : "");
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const cancel = async (id: number) => {
    if (!window.confirm(t("booking.cancelConfirm"))) return;
    setCancelError(null);
    const { error } = await act(() => api.POST("/api/bookings/{booking_id}/cancel", { params: { path: { booking_id: id } } }));
    if (error) setCancelError(error); // in the reader's language when known
    void bookings.reload();
  };
  // Booking confirms a booking paid by a prompt on hearing of the payment: the list is read again until it shows it.
  const prompts = useRowPrompts(bookings.data, (b) => b.status === "pending", bookings.reload);
  const sortedUnits = [...(units.data?.values() ?? [])].sort((a, b) => a.unit_number.localeCompare(b.unit_number));

  return (
    <div className="stack">
      <PageTitle sub={t("admin.bookingsSub")}>{t("admin.bookings")}</PageTitle>
      <ErrorAlert error={cancelError} />
      <form className="card filters" aria-label={t("units.filters")} onSubmit={(e) => { e.preventDefault(); filter("user_id", userInput); }}>
        <SelectField label={t("unit.status")} value={status ?? ""} onChange={(e) => filter("status", e.target.value)}>
          <option value="">{t("admin.all")}</option>
          {STATUSES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
        </SelectField>
        <SelectField label={t("admin.unit")} value={unitId ? String(unitId) : ""} onChange={(e) => filter("unit_id", e.target.value)}>
          <option value="">{t("admin.all")}</option>
          {sortedUnits.map((u) => <option key={u.id} value={u.id}>{u.unit_number}</option>)}
        </SelectField>
        <TextField label={t("admin.customerId")} type="number" min={1} value={userInput} onChange={(e) => setUserInput(e.target.value)}
          onBlur={() => userInput !== (userId ? String(userId) : "") && filter("user_id", userInput)} />
        <label className="check">
          <input type="checkbox" checked={!!owingRefund} onChange={(e) => filter("refund_status", e.target.checked ? "required" : "")} />
          {t("admin.owingRefund")}
        </label>
      </form>
      <ErrorAlert error={bookings.error} />
      {bookings.loading && !bookings.data ? <Spinner label={t("common.loading")} /> : bookings.data?.length === 0 ? (
        <p className="empty">{t("admin.noBookings")}</p>
      ) : (
        <div className="table-wrap" role="region" aria-label={t("admin.bookings")} tabIndex={0}>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">#</th><th scope="col">{t("admin.unit")}</th><th scope="col">{t("admin.customer")}</th>
                <th scope="col">{t("admin.dates")}</th><th scope="col">{t("booking.total")}</th>
                <th scope="col">{t("booking.status")}</th><th scope="col">{t("booking.payment")}</th>
                <th scope="col"><span className="sr-only">{t("admin.actions")}</span></th>
              </tr>
            </thead>
            <tbody>
              {bookings.data?.map((b) => (
                <Fragment key={b.id}>
                  <tr>
                    <th scope="row">{b.id}</th>
                    <td>{units.data?.get(b.unit_id)?.unit_number ?? b.unit_id}</td>
                    <td><Link to={`/admin/bookings?user_id=${b.user_id}`}>{b.user_id}</Link><CustomerName customer={customers.get(b.user_id)} /></td>
                    <td className="range"><span>{formatDay(b.start_date, lang)}</span> – <span>{b.end_date ? formatDay(b.end_date, lang) : t("admin.openEnded")}</span></td>
                    <td><Price amount={b.total_price} /></td>
                    <td><StatusBadge status={b.status} /></td>
                    <td>
                      <StatusBadge status={b.payment_status} />
                      {"refund_status" in b && b.refund_status === "required" && <> <span className="badge badge-bad">{t("admin.refundDue")}</span></>}
                    </td>
                    <td>
                      <div className="row-actions">
                        {awaitingPayment(b) && prompts.open !== b.id && (
                          <button type="button" className="btn btn-small btn-mpesa" onClick={() => prompts.openFor(b.id)}
                            aria-label={t("prompt.forBooking", { id: b.id })}>{t("prompt.send")}</button>
                        )}
                        {b.status !== "cancelled" && (
                          <button type="button" className="btn btn-small btn-ghost" onClick={() => cancel(b.id)}
                            aria-label={t("admin.cancelBooking", { id: b.id })}>{t("booking.cancel")}</button>
                        )}
                      </div>
                    </td>
                  </tr>
                  {prompts.open === b.id && (
                    <PromptRow colSpan={8} target={{ booking_id: b.id }} bookingId={b.id} amount={b.total_price}
                      customer={customers.get(b.user_id)} title={t("prompt.titleBooking", { id: b.id })}
                      {...prompts.handlers(b.id)} />
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager label={t("admin.bookingsPages")} offset={offset} rows={bookings.data?.length ?? 0} limit={PAGE}
        busy={bookings.loading} />
    </div>
  );
}
