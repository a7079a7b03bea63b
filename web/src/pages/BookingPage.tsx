import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, errorOf, type ApiError } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { useReloadWhile } from "../lib/useReloadWhile";
import { awaitingPayment, isMonthly, loadBookings, monthlyRateOf } from "../lib/bookings";
import { formatDay, formatInstant, secondsUntil, daysBetween, nairobiDate } from "../lib/dates";
import { Price } from "../components/Price";
import { formatKES } from "../lib/money";
import { paidWith } from "../lib/paymentMethod";
import { MpesaPay } from "../components/MpesaPay";
import { RentalPanel } from "../components/RentalPanel";
import { PaybillHowTo } from "../components/PaybillHowTo";
import { Alert, ErrorAlert, PageTitle, Spinner, StatusBadge } from "../components/ui";

/** Seconds left until `iso`, shown again every second; worked out at each render, so that a hold just loaded is never
 *  read as over. */
function useCountdown(iso: string | null | undefined): number {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!iso) return;
    const h = setInterval(() => {
      tick((n) => n + 1);
      if (secondsUntil(iso) === 0) clearInterval(h);
    }, 1000);
    return () => clearInterval(h);
  }, [iso]);
  return iso ? secondsUntil(iso) : 0;
}

export function BookingPage() {
  const { bookingId } = useParams();
  const id = Number(bookingId);
  const { t, lang } = useI18n();
  // Just this one (an operator's console links here for any booking, not only the newest page of them).
  const bookings = useLoad(
    () => (Number.isSafeInteger(id) && id > 0 ? loadBookings({ booking_id: id }) : Promise.resolve({ data: [] })), [id]);
  const booking = bookings.data?.find((b) => b.id === id);
  const unit = useLoad(async () => {
    if (!booking) return {};
    const { data, error, response } = await api.GET("/api/units/{unit_id}", { params: { path: { unit_id: booking.unit_id } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [booking?.unit_id]);
  const payment = useLoad(async () => {
    const { data, response } = await api.GET("/api/payments/status/{booking_id}", { params: { path: { booking_id: id } } });
    return data ? { data: data.data } : response.status === 404 ? { data: null } : {};
  }, [id]);
  const [paid, setPaid] = useState(false);
  const [cancelError, setCancelError] = useState<ApiError | null>(null);
  const [cardError, setCardError] = useState<ApiError | null>(null);
  const [cardBusy, setCardBusy] = useState(false);
  const left = useCountdown(booking?.status === "pending" ? booking.hold_expires_at : null);

  // After a successful payment (M-PESA here, or a card on Pesapal's page before coming back) the booking is
  // confirmed by an event: look again until it is.
  const paidNow = paid || payment.data?.status === "success";
  useEffect(() => {
    if (!paidNow || booking?.status !== "pending") return;
    const h = setInterval(() => void bookings.reload(), 1000);
    return () => clearInterval(h);
  }, [paidNow, booking?.status, bookings.reload]);

  // The hold ran out: the booking is cancelled by booking's sweep a moment later, unless a payment came in time. Read
  // it at once and then again until it says which (its status leaves pending), for a minute at most.
  const holdOver = booking?.status === "pending" && !!booking.hold_expires_at && left === 0;
  useEffect(() => {
    if (holdOver) void bookings.reload();
  }, [holdOver, bookings.reload]);
  useReloadWhile(holdOver, bookings.reload, 2000, 60_000);

  // A paid booking just cancelled: payments raises its refund on hearing of the cancellation, a moment later. Read the
  // payment again until the refund shows.
  const refundComing = booking?.status === "cancelled" && booking.payment_status === "success" && !payment.data?.refund;
  useReloadWhile(refundComing, payment.reload, 2000, 60_000);

  // Once confirmed, show the payment's receipt.
  useEffect(() => {
    if (booking?.status === "confirmed" || booking?.status === "cancelled") void payment.reload();
  }, [booking?.status, payment.reload]);

  if (bookings.loading && !bookings.data) return <Spinner label={t("common.loading")} />;
  if (!booking) return <ErrorAlert error={bookings.error ?? { message: t("booking.notFound"), status: 404 }} />;

  const payByCard = async () => {
    setCardBusy(true);
    setCardError(null);
    const sent = await api.POST("/api/payments/card/initiate", { body: { booking_id: id } }).catch(() => null); // null: the network
    if (sent?.data) {
      window.location.assign(sent.data.data.redirect_url); // Pesapal's page; it sends the customer back to /bookings/card-return
      return;
    }
    setCardError(sent ? errorOf(sent.error, sent.response.status) : { message: "", status: 0 });
    setCardBusy(false);
  };

  // The owner cancels while it is pending, or once paid until the day before it starts (booking's rule, in Nairobi
  // dates): what was paid is then refunded, less any cancellation fee.
  const paidUp = booking.status === "confirmed";
  const cancellable = booking.status === "pending" || (paidUp && nairobiDate() < booking.start_date);
  const cancel = async () => {
    if (!window.confirm(t(paidUp ? "booking.cancelPaidConfirm" : "booking.cancelConfirm"))) return;
    setCancelError(null);
    try {
      const { error, response } = await api.POST("/api/bookings/{booking_id}/cancel", { params: { path: { booking_id: id } } });
      if (error) setCancelError(errorOf(error, response.status));
      else void bookings.reload();
    } catch {
      setCancelError({ message: "", status: 0 });
    }
  };

  const monthly = isMonthly(booking);
  const rate = monthlyRateOf(booking);
  const title = unit.data ? t("units.unit", { number: unit.data.unit_number }) : t("bookings.booking", { id });
  const payable = awaitingPayment(booking);
  // A pending card payment is a Pesapal page the customer may have left unpaid: nothing to wait for on their phone,
  // and paying again releases it (payments asks Pesapal first).
  const paymentPending = payment.data?.status === "pending" && payment.data.method !== "card";
  const cardLeftOpen = payment.data?.status === "pending" && payment.data.method === "card";
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, "0");

  return (
    <div className="stack">
      <p><Link to="/bookings" className="back-link"><span aria-hidden="true">← </span>{t("bookings.title")}</Link></p>
      <PageTitle sub={t("bookings.booking", { id })}>{title}</PageTitle>
      {booking.status === "confirmed" && (
        <Alert kind="success" title={t("booking.confirmedTitle")}>{t("booking.confirmedText")}</Alert>
      )}
      {booking.status === "cancelled" && <Alert kind="info">{t("booking.cancelledText")}</Alert>}
      <div className="two-col">
        <section className="card" aria-labelledby="summary">
          <h2 id="summary">{t("booking.summary")}</h2>
          <dl className="facts">
            <div><dt>{t("booking.status")}</dt><dd><StatusBadge status={booking.status} /></dd></div>
            <div><dt>{t("booking.payment")}</dt><dd><StatusBadge status={booking.payment_status} /></dd></div>
            <div><dt>{t("book.start")}</dt><dd>{formatDay(booking.start_date, lang)}</dd></div>
            <div><dt>{t("book.end")}</dt><dd>{booking.end_date ? formatDay(booking.end_date, lang) : t("booking.openEnded")}</dd></div>
            {booking.end_date && !monthly && (
              <div><dt>{t("booking.length")}</dt><dd>{t("book.days", { n: daysBetween(booking.start_date, booking.end_date) })}</dd></div>
            )}
            {monthly && rate !== null && (
              <div><dt>{t("booking.monthlyRate")}</dt><dd><Price amount={rate} per="month" /></dd></div>
            )}
            <div>
              <dt>{monthly ? t("booking.firstMonth") : t("booking.total")}</dt>
              <dd><Price amount={booking.total_price} className="price-lg" /></dd>
            </div>
            {payment.data?.transaction_code && booking.status === "confirmed" && (
              <div><dt>{t(`receipt.${paidWith(payment.data.method)}`)}</dt><dd>{payment.data.transaction_code}</dd></div>
            )}
            <div><dt>{t("booking.created")}</dt><dd>{formatInstant(booking.created_at, lang)}</dd></div>
          </dl>
          {payment.data?.refund && (
            <Alert kind={payment.data.refund.status === "paid" ? "success" : "info"} title={t("booking.refundTitle")}>
              <p>
                {payment.data.refund.status === "paid"
                  ? t(`booking.refundPaid.${paidWith(payment.data.refund.method)}`,
                    { amount: formatKES(payment.data.refund.amount), receipt: payment.data.refund.receipt ?? "—" })
                  : t(`booking.refundText.${paidWith(payment.data.refund.method)}`, { amount: formatKES(payment.data.refund.amount) })}
              </p>
            </Alert>
          )}
          {booking.status === "pending" && booking.hold_expires_at && (
            <p className="hold" role="timer" aria-live="off">
              {left > 0 ? t("booking.holdLeft", { time: `${minutes}:${seconds}` }) : t("booking.holdOver")}
            </p>
          )}
          <ErrorAlert error={cancelError} />
          <div className="actions">
            {booking.status === "confirmed" && <Link to={`/transport?booking=${booking.id}`} className="btn btn-secondary">{t("booking.orderTruck")}</Link>}
            {cancellable && <button type="button" className="btn btn-ghost" onClick={cancel}>{t("booking.cancel")}</button>}
          </div>
        </section>
        {monthly && booking.status === "confirmed" && <RentalPanel bookingId={booking.id} onChanged={() => void bookings.reload()} />}
        {payable && (
          <section className="card pay-card" aria-labelledby="pay">
            <h2 id="pay">{t("pay.title")}</h2>
            <p className="muted">{t("pay.lead")}</p>
            <p className="quote-total"><Price amount={booking.total_price} /></p>
            {cardLeftOpen && !paid && <p className="muted" role="status">{t("card.leftOpen")}</p>}
            {payment.loading && payment.data === undefined ? <Spinner label={t("common.loading")} /> : (
              <MpesaPay bookingId={booking.id} amount={booking.total_price} resume={paymentPending}
                onPaid={() => { setPaid(true); void bookings.reload(); }} onFailed={() => void bookings.reload()} />
            )}
            {!paid && (
              // Paid from the phone's menu, the page hears of it only by looking: the button reads the payment again
              // (once it shows paid, the booking is read until it is confirmed, as after a prompt).
              <PaybillHowTo target={{ booking: booking.id }} amount={booking.total_price}
                onCheck={() => Promise.all([payment.reload(), bookings.reload()])} />
            )}
            {!paid && (
              <div className="or-card">
                <p className="muted">{t("card.or")}</p>
                <ErrorAlert error={cardError} />
                <button type="button" className="btn btn-ghost btn-block" onClick={payByCard} disabled={cardBusy}>
                  {cardBusy ? t("common.wait") : t("card.pay")}
                </button>
              </div>
            )}
          </section>
        )}
      </div>
    </div>
  );
}
