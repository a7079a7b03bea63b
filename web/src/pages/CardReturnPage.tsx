import { useEffect, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, errorOf, type ApiError } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { Alert, ErrorAlert, PageTitle, Spinner } from "../components/ui";

/** How many times one round asks while the payment is pending (1.5 s apart: about a minute). */
const CHECKS = 40;

/** Where Pesapal sends the customer back after the card page: ask the server how the payment went. */
export function CardReturnPage() {
  const { t } = useI18n();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [state, setState] = useState<{ status: string; booking_id: number } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // Each round asks up to CHECKS times; a round that ends still pending says so, and "Check again" starts another.
  const [round, setRound] = useState(0);
  const [gaveUp, setGaveUp] = useState(false);
  const tracking = params.get("OrderTrackingId") ?? "";

  useEffect(() => {
    let stop = false;
    let tries = 0;
    const ask = async () => {
      const { data, error: err, response } = await api.GET("/api/payments/card/return", {
        params: {
          query: {
            OrderTrackingId: tracking,
            OrderMerchantReference: params.get("OrderMerchantReference") ?? undefined,
            OrderNotificationType: params.get("OrderNotificationType") ?? undefined,
          },
        },
      }).catch(() => ({ data: undefined, error: undefined, response: { status: 0 } }));
      if (stop) return;
      if (!data) {
        setError(errorOf(err, response.status));
        setGaveUp(true);
        return;
      }
      setState(data.data);
      if (data.data.status === "success") {
        // An invoice paid by card: the rental panel follows it until billing records it.
        const paid = data.data.invoice_id ? `?invoice_paid=${data.data.invoice_id}` : "";
        navigate(`/bookings/${data.data.booking_id}${paid}`, { replace: true });
      }
      else if (data.data.status === "pending") {
        if (++tries < CHECKS) setTimeout(() => void ask(), 1500);
        else setGaveUp(true);
      }
    };
    setGaveUp(false);
    setError(null);
    void ask();
    return () => {
      stop = true;
    };
  }, [tracking, params, navigate, round]);

  return (
    <div className="narrow stack">
      <PageTitle>{t("card.title")}</PageTitle>
      <ErrorAlert error={error} />
      {!state && !error && <Spinner label={t("card.checking")} />}
      {state?.status === "pending" && (gaveUp ? (
        <Alert kind="warning" title={t("card.notYetTitle")}>
          <p>{t("card.notYetText")}</p>
          <p><Link to={`/bookings/${state.booking_id}`}>{t("card.back")}</Link></p>
          <button type="button" className="btn btn-secondary" onClick={() => setRound(round + 1)}>{t("card.checkAgain")}</button>
        </Alert>
      ) : <Spinner label={t("card.checking")} />)}
      {state?.status === "failed" && (
        <Alert kind="error" title={t("card.failedTitle")}>
          <p>{t("card.failedText")}</p>
          <p><Link to={`/bookings/${state.booking_id}`}>{t("card.back")}</Link></p>
        </Alert>
      )}
    </div>
  );
}
