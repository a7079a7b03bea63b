import { useEffect, useState, type FormEvent } from "react";
import { api, errorOf, type ApiError } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { Alert, ErrorAlert, PageTitle, Spinner } from "../components/ui";
import { MessageList } from "../components/MessageList";

const MESSAGES = 500;

/** The SMS and emails sent to the customer, and the channels and language they want reminders in. */
export function NotificationsPage() {
  const { t, lang, setLang } = useI18n();
  // The newest MESSAGES (notifications answers 100 unless asked, at most 500, and cannot page further back).
  const messages = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/notifications", { params: { query: { limit: MESSAGES } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, []);
  const prefs = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/notifications/preferences", {});
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, []);
  const [form, setForm] = useState({ sms: true, email: true, language: lang });
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (prefs.data) setForm({ sms: prefs.data.sms, email: prefs.data.email, language: prefs.data.language });
  }, [prefs.data]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    setError(null);
    const { data, error: err, response } = await api.PUT("/api/notifications/preferences", { body: form });
    if (!data) {
      setError(errorOf(err, response.status));
      return;
    }
    prefs.setData(data.data);
    setLang(data.data.language);
    setSaved(true);
  };

  return (
    <div className="stack">
      <PageTitle sub={t("notifications.sub")}>{t("notifications.title")}</PageTitle>
      <div className="two-col">
        <section aria-labelledby="inbox">
          <h2 id="inbox" className="section-title">{t("notifications.title")}</h2>
          <ErrorAlert error={messages.error} />
          {messages.loading && !messages.data ? <Spinner label={t("common.loading")} /> : messages.data?.length === 0 ? (
            <p className="empty">{t("notifications.none")}</p>
          ) : (
            <>
              <MessageList messages={messages.data ?? []} />
              {(messages.data?.length ?? 0) >= MESSAGES && <p className="muted">{t("notifications.newest", { n: MESSAGES })}</p>}
            </>
          )}
        </section>
        <form className="card stack-sm" onSubmit={save} aria-labelledby="channels">
          <h2 id="channels">{t("notifications.prefs")}</h2>
          <label className="check">
            <input type="checkbox" checked={form.sms} onChange={(e) => setForm({ ...form, sms: e.target.checked })} />
            {t("notifications.sms")}
          </label>
          <label className="check">
            <input type="checkbox" checked={form.email} onChange={(e) => setForm({ ...form, email: e.target.checked })} />
            {t("notifications.email")}
          </label>
          <p className="field-hint">{t("notifications.prefsHint")}</p>
          <fieldset className="radio-group">
            <legend>{t("notifications.language")}</legend>
            {(["en", "sw"] as const).map((l) => (
              <label key={l}>
                <input type="radio" name="msg-lang" value={l} checked={form.language === l} onChange={() => setForm({ ...form, language: l })} />
                {l === "en" ? "English" : "Kiswahili"}
              </label>
            ))}
          </fieldset>
          <ErrorAlert error={error ?? prefs.error} />
          {saved && <Alert kind="success">{t("notifications.saved")}</Alert>}
          <button type="submit" className="btn btn-primary">{t("notifications.save")}</button>
        </form>
      </div>
    </div>
  );
}
