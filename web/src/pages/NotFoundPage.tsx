import { Link } from "react-router-dom";
import { useI18n } from "../i18n/i18n";
import { PageTitle } from "../components/ui";

export function NotFoundPage() {
  const { t } = useI18n();
  return (
    <div className="narrow stack">
      <PageTitle sub={t("notFound.text")}>{t("notFound.title")}</PageTitle>
      <p><Link to="/" className="btn btn-primary">{t("bookings.browse")}</Link></p>
    </div>
  );
}
