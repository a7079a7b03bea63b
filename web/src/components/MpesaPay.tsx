import { useEffect, useState } from "react";
import { api, errorOf, type ApiError } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { sayReason } from "../lib/mpesaReasons";
import { useSession } from "../auth/session";
import { displayPhone } from "../lib/phone";
import { lookAtPayment } from "../lib/paymentStatus";
import { useMpesaSubmit, type SendResult } from "../lib/useMpesaSubmit";
import { Alert, ErrorAlert, Spinner, TextField } from "./ui";
import { formatKES } from "../lib/money";
import { paidWith } from "../lib/paymentMethod";

async function initiateBookingPayment(bookingId: number, phone: string): Promise<ApiError | null> {
  const { data, error, response } = await api.POST("/api/payments/mpesa/initiate", {
    body: { booking_id: bookingId, phone_number: phone },
  });
  return data ? null : errorOf(error, response.status);
}

/**
 * Pay a booking by M-PESA: confirm the phone, send the STK Push, "check your phone" while the prompt is out,
 * then the live status until it is paid or failed (with the reason and a retry).
 */
export function MpesaPay({ bookingId, amount, resume, onPaid, onFailed, start }: {
  bookingId: number; amount: number; resume: boolean; onPaid: () => void; onFailed?: () => void;
  /** Sends the STK Push (default: the booking's own payment); its status is followed through the booking. */
  start?: (phone: string) => Promise<ApiError | null>;
}) {
  const { t, lang } = useI18n();
  const { user } = useSession();
  const [phone, setPhone] = useState(displayPhone(user?.phone ?? ""));
  const { stage, snapshot, error, normalized, phoneInvalid, onSubmit, watch, stop } = useMpesaSubmit(phone, {
    send: async (phoneNumber): Promise<SendResult> => {
      const refused = start ? await start(phoneNumber) : await initiateBookingPayment(bookingId, phoneNumber);
      return refused ? { error: refused } : {};
    },
    look: () => lookAtPayment(bookingId),
    onPaid,
    onFailed,
  });

  useEffect(() => {
    if (resume) watch();
    return stop;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bookingId]);

  if (stage === "success") {
    return (
      <Alert kind="success" title={t("pay.successTitle")}>
        <p>{t("pay.successText", {
          receipt: t(`receipt.${paidWith(snapshot?.method ?? "mpesa")}`), code: snapshot?.transactionCode ?? "—",
        })}</p>
      </Alert>
    );
  }
  if (stage === "waiting") {
    return (
      <div className="pay-waiting" aria-live="polite">
        <div className="phone-illustration" aria-hidden="true">📱</div>
        <h3>{t("pay.checkPhone")}</h3>
        <p>{t("pay.checkPhoneText", { amount: formatKES(amount), phone: displayPhone(normalized ?? phone) })}</p>
        <Spinner label={t("pay.waiting")} />
      </div>
    );
  }
  return (
    <form className="stack-sm" onSubmit={onSubmit} noValidate>
      {stage === "failed" && (
        <Alert kind="error" title={t("pay.failedTitle")}>
          <p>{snapshot?.reason ? sayReason(snapshot.reason, lang) : t("pay.failedGeneric")}</p>
          <p>{t("pay.retryHint")}</p>
        </Alert>
      )}
      {stage === "timeout" && <Alert kind="warning">{t("pay.timeout")}</Alert>}
      <TextField label={t("pay.phone")} type="tel" inputMode="tel" autoComplete="tel" value={phone}
        hint={t("pay.phoneHint")} error={phoneInvalid ? t("signup.phoneError") : undefined}
        onChange={(e) => setPhone(e.target.value)} />
      <ErrorAlert error={error} />
      <button className="btn btn-mpesa btn-block" type="submit" disabled={stage === "sending"}>
        {stage === "sending" ? t("common.wait") : stage === "failed" || stage === "timeout"
          ? t("pay.retry", { amount: formatKES(amount) }) : t("pay.submit", { amount: formatKES(amount) })}
      </button>
    </form>
  );
}
