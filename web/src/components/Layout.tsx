import { NavLink, Outlet, useNavigate } from "react-router-dom";
import { useI18n } from "../i18n/i18n";
import { useSession } from "../auth/session";
import { telHref, useSupportPhone } from "../lib/support";

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <div className="lang-switch" role="group" aria-label={t("nav.language")}>
      {(["en", "sw"] as const).map((l) => (
        <button key={l} type="button" aria-pressed={lang === l} onClick={() => setLang(l)} lang={l}>
          {l === "en" ? "English" : "Kiswahili"}
        </button>
      ))}
    </div>
  );
}

/** Who we are, and the number to call once the notifications service has said it (never a stale one). */
function Footer() {
  const { t } = useI18n();
  const phone = useSupportPhone();
  const href = phone ? telHref(phone) : null;
  return (
    <footer className="footer">
      <p>
        {t("footer.line")}
        {href && <> · {t("footer.help")} <a href={href}>{phone}</a></>}
      </p>
    </footer>
  );
}

export function Layout() {
  const { t } = useI18n();
  const { user, isAdmin, logout } = useSession();
  const navigate = useNavigate();
  const link = ({ isActive }: { isActive: boolean }) => (isActive ? "nav-link active" : "nav-link");
  return (
    <div className="app">
      <a className="skip-link" href="#main">{t("nav.skip")}</a>
      <header className="topbar">
        <div className="topbar-inner">
          <NavLink to="/" className="brand" aria-label={t("brand.home")}>
            <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
              <rect width="32" height="32" rx="7" fill="#f4b400" />
              <path d="M7 14 16 8l9 6v11H7z" fill="#0f5132" />
              <rect x="11" y="17" width="10" height="8" fill="#fff" />
            </svg>
            <span>Jesh Storage</span>
          </NavLink>
          <LanguageSwitch />
        </div>
        <nav className="mainnav" aria-label={t("nav.main")}>
          <NavLink to="/" end className={link}>{t("nav.units")}</NavLink>
          {user && <NavLink to="/bookings" className={link}>{t("nav.bookings")}</NavLink>}
          {user && <NavLink to="/transport" className={link}>{t("nav.transport")}</NavLink>}
          {isAdmin && <NavLink to="/admin" className={link}>{t("nav.console")}</NavLink>}
          {user ? (
            <>
              <NavLink to="/profile/notifications" className={link}>{t("nav.notifications")}</NavLink>
              <NavLink to="/profile" end className={link}>{t("nav.profile")}</NavLink>
              <button type="button" className="nav-link nav-button" onClick={async () => { await logout(); navigate("/"); }}>
                {t("nav.logout")}
              </button>
            </>
          ) : (
            <>
              <NavLink to="/login" className={link}>{t("nav.login")}</NavLink>
              <NavLink to="/signup" className={({ isActive }) => `nav-link nav-cta${isActive ? " active" : ""}`}>{t("nav.signup")}</NavLink>
            </>
          )}
        </nav>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
      <Footer />
    </div>
  );
}
