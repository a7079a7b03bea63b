import { useId, type ReactNode, type InputHTMLAttributes, type Ref, type SelectHTMLAttributes } from "react";
import { useI18n } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
import type { ApiError } from "../api/client";
import { describeWait } from "../lib/retryAfter";
import { knownMessage, sayKnown } from "../lib/serverMessages";
import { useSupportPhone } from "../lib/support";

export function Alert({ kind, children, title }: { kind: "error" | "success" | "info" | "warning"; children?: ReactNode; title?: string }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {title && <strong className="alert-title">{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

/** The message of an API error in the current language when we know it, else the server's sentence. */
export function ErrorAlert({ error }: { error: ApiError | null }) {
  const { t } = useI18n();
  const supportPhone = useSupportPhone();
  if (!error) return null;
  const known = knownMessage(error.message);
  const message = known?.key === "err.accountClosed" && supportPhone ? t("err.accountClosedCall", { phone: supportPhone })
    : known ? sayKnown(known, t) : error.message || (error.status === 0 ? t("err.network") : t("err.generic"));
  const wait = error.retryAfter === undefined ? null : describeWait(error.retryAfter);
  return (
    <Alert kind="error">
      <p>{message}</p>
      {wait && <p>{t(`err.retry.${wait.unit}`, { n: wait.n })}</p>}
      {error.errors && error.errors.length > 0 && (
        <ul>{error.errors.map((e) => <li key={e.field + e.message}>{e.field}: {e.message}</li>)}</ul>
      )}
    </Alert>
  );
}

export function Field({ label, hint, error, children }: {
  label: string; hint?: string; error?: string; children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-err` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children(id, describedBy)}
      {hint && <p className="field-hint" id={hintId}>{hint}</p>}
      {error && <p className="field-error" id={errId}>{error}</p>}
    </div>
  );
}

export function TextField({ label, hint, error, ...input }: {
  label: string; hint?: string; error?: string; ref?: Ref<HTMLInputElement>;
} & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, describedBy) => <input id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...input} />}
    </Field>
  );
}

export function SelectField({ label, hint, children, ...select }: { label: string; hint?: string } & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <Field label={label} hint={hint}>
      {(id, describedBy) => <select id={id} aria-describedby={describedBy} {...select}>{children}</select>}
    </Field>
  );
}

const BADGE: Record<string, string> = {
  available: "ok", confirmed: "ok", success: "ok", completed: "ok",
  booked: "info", scheduled: "info", in_progress: "info",
  pending: "warn", requested: "warn",
  maintenance: "muted", cancelled: "muted", failed: "bad",
  required: "warn", approved: "info", paying: "info", paid: "ok",
  queued: "muted", sent: "info", delivered: "ok",
  active: "ok", suspended: "bad", ended: "muted", "invoice-open": "warn", "invoice-paid": "ok", "invoice-void": "muted", "invoice-refunded": "muted",
  received: "muted", verified: "info", applied: "ok", unmatched: "warn", rejected: "bad", // Paybill money
};

const REFUND_LABELS: Record<string, string> = {
  required: "refund.required", approved: "refund.approved", paying: "refund.paying", paid: "refund.paid",
};

export function StatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  const key = (status in REFUND_LABELS ? REFUND_LABELS[status] : `status.${status}`) as MessageKey;
  const label = t(key) === key ? status : t(key);
  return <span className={`badge badge-${BADGE[status] ?? "muted"}`}>{label}</span>;
}

export function Spinner({ label }: { label: string }) {
  return (
    <span className="spinner" role="status">
      <span className="spinner-dot" aria-hidden="true" />
      <span>{label}</span>
    </span>
  );
}

export function PageTitle({ children, sub }: { children: ReactNode; sub?: ReactNode }) {
  return (
    <header className="page-title">
      <h1>{children}</h1>
      {sub && <p className="page-sub">{sub}</p>}
    </header>
  );
}
