import { NavLink, Outlet } from "react-router-dom";
import { useI18n } from "../../i18n/i18n";
import { AttentionBadge, AttentionProvider } from "./MoneyAttention";

/** The console's tabs; the Money tab counts the money waiting for an operator's action (MoneyAttention). */
export function AdminLayout() {
  const { t } = useI18n();
  const tab = ({ isActive }: { isActive: boolean }) => (isActive ? "tab active" : "tab");
  return (
    <AttentionProvider>
      <div className="stack">
        <nav className="tabs" aria-label={t("admin.sections")}>
          <NavLink to="/admin/units" className={tab}>{t("admin.units")}</NavLink>
          <NavLink to="/admin/bookings" className={tab}>{t("admin.bookings")}</NavLink>
          <NavLink to="/admin/customers" className={tab}>{t("admin.customers")}</NavLink>
          <NavLink to="/admin/transport" className={tab}>{t("admin.transport")}</NavLink>
          <NavLink to="/admin/rentals" className={tab}>{t("admin.rentals")}</NavLink>
          <NavLink to="/admin/invoices" className={tab}>{t("admin.invoices")}</NavLink>
          <NavLink to="/admin/money" className={tab}>{t("money.title")}<AttentionBadge /></NavLink>
          <NavLink to="/admin/reports" className={tab}>{t("admin.reports")}</NavLink>
          <NavLink to="/admin/events" className={tab}>{t("admin.events")}</NavLink>
          <NavLink to="/admin/audit" className={tab}>{t("audit.title")}</NavLink>
        </nav>
        <Outlet />
      </div>
    </AttentionProvider>
  );
}
