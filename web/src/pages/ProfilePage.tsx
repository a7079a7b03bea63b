import { useI18n } from "../i18n/i18n";
import { useLoad } from "../lib/useLoad";
import { api, errorOf } from "../api/client";
import { displayPhone } from "../lib/phone";
import { ErrorAlert, PageTitle, Spinner } from "../components/ui";

export function ProfilePage() {
  const { t, lang, setLang } = useI18n();
  const profile = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/auth/profile", {});
    return data ? { data } : { error: errorOf(error, response.status) };
  }, []);
  return (
    <div className="narrow stack">
      <PageTitle>{t("profile.title")}</PageTitle>
      <ErrorAlert error={profile.error} />
      {!profile.data ? <Spinner label={t("common.loading")} /> : (
        <section className="card" aria-labelledby="me">
          <h2 id="me">{profile.data.name}</h2>
          <dl className="facts">
            <div><dt>{t("field.email")}</dt><dd>{profile.data.email}</dd></div>
            <div><dt>{t("field.phone")}</dt><dd>{displayPhone(profile.data.phone)}</dd></div>
            <div><dt>{t("profile.role")}</dt><dd>{profile.data.role === "admin" ? t("profile.admin") : t("profile.customer")}</dd></div>
          </dl>
        </section>
      )}
      <section className="card" aria-labelledby="prefs">
        <h2 id="prefs">{t("profile.prefs")}</h2>
        <fieldset className="radio-group">
          <legend>{t("nav.language")}</legend>
          {(["en", "sw"] as const).map((l) => (
            <label key={l}>
              <input type="radio" name="lang" value={l} checked={lang === l} onChange={() => setLang(l)} />
              {l === "en" ? "English" : "Kiswahili"}
            </label>
          ))}
        </fieldset>
      </section>
    </div>
  );
}
