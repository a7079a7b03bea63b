import { Link } from "react-router-dom";
import { useI18n } from "../../i18n/i18n";
import type { Customer } from "../../lib/customerNames";

/** A customer's name under their id in a console table (on a line of its own, so that a long name does not widen
 *  the table), linking to their page; nothing until it is known. The separator is for text copied from the row. */
export function CustomerName({ customer }: { customer: Customer | undefined }) {
  if (!customer) return null;
  return (
    <span className="customer-name">
      <span className="sep"> · </span><Link to={`/admin/customers/${customer.id}`}>{customer.name}</Link>
    </span>
  );
}

/** An account's role: an operator (admin) or a customer (user). */
export function RoleBadge({ role }: { role: Customer["role"] }) {
  const { t } = useI18n();
  return <span className={`badge badge-${role === "admin" ? "info" : "muted"}`}>{t(`role.${role}`)}</span>;
}
