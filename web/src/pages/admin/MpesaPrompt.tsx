import { useEffect, useId, useRef, useState } from "react";
import { api, errorOf } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { sayReason } from "../../lib/mpesaReasons";
import { formatKES } from "../../lib/money";
import { paidWith } from "../../lib/paymentMethod";
import { lookAtPayment } from "../../lib/paymentStatus";
import { displayPhone } from "../../lib/phone";
import { useMpesaSubmit } from "../../lib/useMpesaSubmit";
import { Alert, ErrorAlert, Spinner, TextField } from "../../components/ui";

/** What the prompt charges: a customer's pending booking (its total) or their open invoice (its balance). */
export type PromptFor = { booking_id: number } | { invoice_id: number };

/** What a console page gives the prompt panel. */
export type MpesaPromptProps = {
  target: PromptFor;
  /** The booking whose payment status shows this payment (an invoice's: its rental's). */
  bookingId: number;
  amount: number;
  /** The customer: their phone on record is prefilled, their name ends the title (undefined or null while it loads). */
  customer: { name: string; phone?: string | null } | null | undefined;
  /** What the prompt is for ("M-PESA prompt for booking #12"). */
  title: string;
  onPaid: () => void;
  onClose: () => void;
};

/**
 * An operator sends the M-PESA prompt to a customer's phone (`POST /api/payments/mpesa/prompt`) for someone at the desk
 * or on the phone, then follows the payment through its booking's payment status until it is paid (the receipt) or
 * failed (the reason, and the form again). The payment is the customer's; `onPaid` lets the page refresh its row.
 */
export function MpesaPrompt({ target, bookingId, amount, customer, title, onPaid, onClose }: MpesaPromptProps) {
  const { t, lang } = useI18n();
  const phone = customer?.phone;
  const titleId = useId();
  const [value, setValue] = useState(displayPhone(phone));
  const edited = useRef(false);
  // What the prompt asked for: the row's balance reads 0 once the invoice is paid, the panel still says what was paid.
  const [charged, setCharged] = useState<number | null>(null);
  const { stage, snapshot, error, sentTo, phoneInvalid, onSubmit } = useMpesaSubmit(value, {
    send: async (phoneNumber) => {
      const { data, error: err, response } = await api.POST("/api/payments/mpesa/prompt", {
        body: { ...target, phone_number: phoneNumber },
      });
      if (!data) return { error: errorOf(err, response.status, response) };
      setCharged(amount);
      return { paymentId: data.data.payment_id };
    },
    look: (paymentId) => lookAtPayment(bookingId, paymentId),
    onPaid,
  });

  // The number on record may come after the form opened: fill it in unless the operator typed one meanwhile.
  useEffect(() => {
    if (phone && !edited.current) setValue(displayPhone(phone));
  }, [phone]);

  const formShown = stage === "idle" || stage === "sending" || stage === "failed" || stage === "timeout";
  const close = (
    <button type="button" className="btn btn-small btn-ghost" onClick={onClose}>{t("prompt.close")}</button>
  );
  return (
    <section className="prompt-panel stack-sm" aria-labelledby={titleId}>
      <p className="prompt-title" id={titleId}>{[title, customer?.name].filter(Boolean).join(" · ")}</p>
      <p className="prompt-amount">{t("prompt.amount", { amount: formatKES(charged ?? amount) })}</p>
      {stage === "waiting" && (
        <Alert kind="info">
          <p>{t("prompt.sent", { phone: displayPhone(sentTo) })}</p>
          <Spinner label={t("pay.waiting")} />
        </Alert>
      )}
      {stage === "success" && (
        <Alert kind="success" title={t("pay.successTitle")}>
          <p>{t("prompt.paid", {
            receipt: t(`receipt.${paidWith(snapshot?.method ?? "mpesa")}`), code: snapshot?.transactionCode ?? "—",
          })}</p>
        </Alert>
      )}
      {stage === "failed" && (
        <Alert kind="error" title={t("pay.failedTitle")}>
          <p>{snapshot?.reason ? sayReason(snapshot.reason, lang) : t("pay.failedGeneric")}</p>
          <p>{t("prompt.failedHint")}</p>
        </Alert>
      )}
      {stage === "timeout" && <Alert kind="warning">{t("prompt.timeout")}</Alert>}
      {formShown ? (
        <form className="stack-sm" onSubmit={onSubmit} noValidate>
          <TextField label={t("prompt.phone")} type="tel" inputMode="tel" autoComplete="off" value={value}
            hint={t("pay.phoneHint")} error={phoneInvalid ? t("signup.phoneError") : undefined}
            onChange={(e) => { edited.current = true; setValue(e.target.value); }} />
          <ErrorAlert error={error} />
          <div className="row-actions">
            <button className="btn btn-small btn-mpesa" type="submit" disabled={stage === "sending"}>
              {stage === "sending" ? t("common.wait") : stage === "idle" ? t("prompt.submit") : t("prompt.retry")}
            </button>
            {close}
          </div>
        </form>
      ) : close}
    </section>
  );
}

// InvoicePage loads this module lazily (only an operator ever sees it): its default export.
export default MpesaPrompt;
