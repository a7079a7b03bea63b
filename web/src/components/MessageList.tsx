import type { notificationsSchemas } from "../api/client";
import { useI18n } from "../i18n/i18n";
import { formatInstant } from "../lib/dates";
import { displayPhone } from "../lib/phone";
import { StatusBadge } from "./ui";

type Message = notificationsSchemas["NotificationOut"];

/** SMS and emails as the customer (and, with `showTo`, an operator) sees them: channel, when, status and the text. */
export function MessageList({ messages, showTo = false }: { messages: Message[]; showTo?: boolean }) {
  const { lang } = useI18n();
  const channel = (m: Message) => {
    const name = m.channel === "sms" ? "SMS" : "Email";
    if (!showTo || !m.to) return name; // no recipient: erased with the customer's personal data
    return `${name} · ${m.channel === "sms" ? displayPhone(m.to) : m.to}`;
  };
  return (
    <ul className="list">
      {messages.map((m) => (
        <li key={m.id} className="card">
          <p className="muted">{channel(m)} · {formatInstant(m.sent_at ?? m.created_at, lang)} <StatusBadge status={m.status} /></p>
          <p className="message-body" lang={m.language}>{m.body}</p>
        </li>
      ))}
    </ul>
  );
}
