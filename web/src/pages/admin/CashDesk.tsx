// The console's cash at the desk: notes and coins a customer pays for a pending booking or an invoice, recorded as a
// payment like any other (receipt CASH-000123), and one day's cash book: what the drawer took, what it handed back
// (refunds of cash payments), the cash banked out of the drawer or float put into it, and so what it should hold (the
// book's closing, carried from one day to the next); at the end of the day the operator counts the drawer against it.
// A banking or float recorded by mistake is never edited: the operator reverses it (with the reason) and records the
// right one.
import { useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { api, errorOf, type ApiError, type paymentsSchemas } from "../../api/client";
import { useI18n } from "../../i18n/i18n";
import { useLoad } from "../../lib/useLoad";
import { formatDay, formatTime, isIsoDate, nairobiDate } from "../../lib/dates";
import { formatKES } from "../../lib/money";
import {
  answerLost, cashEntry, cashSubmission, drawerChange, movementEntry, movementStanding, paidAccount, parseCashAmount,
  parseCountedAmount, parseMovementAmount, readCount, REASON_MAX, reversalReason, signedKES, type CashEntry,
  type CashSubmission, type MovementEntry, type MovementKind,
} from "../../lib/cash";
import { Price } from "../../components/Price";
import { Alert, ErrorAlert, Spinner, TextField } from "../../components/ui";

type CashBook = paymentsSchemas["CashBook"];
type CashCount = paymentsSchemas["CashCountView"];
type CashMovement = paymentsSchemas["CashMovementView"];

/** GET /api/payments/cash?day=: one Nairobi day's cash book, today's unless another day is picked. */
export function useCashBook() {
  const [day, setDay] = useState(() => nairobiDate());
  const book = useLoad(async () => {
    const { data, error, response } = await api.GET("/api/payments/cash", { params: { query: { day } } });
    return data ? { data: data.data } : { error: errorOf(error, response.status) };
  }, [day]);
  return { ...book, day, setDay };
}

/** The section: the form that records cash, then the chosen day's cash book. */
export function CashSection({ book }: { book: ReturnType<typeof useCashBook> }) {
  const { t } = useI18n();
  const today = nairobiDate();
  // Money just taken is in today's book: show that one, read again.
  const recorded = async () => {
    if (book.day === today) await book.reload();
    else book.setDay(today);
  };
  const shown = book.data?.day === book.day ? book.data : undefined;
  return (
    <section className="stack-sm" aria-labelledby="cash">
      <h2 id="cash">{t("cash.title")}</h2>
      <p className="muted">{t("cash.sub")}</p>
      <RecordCash onRecorded={recorded} />
      <div className="section-head">
        <h3 id="cash-book">{t("cash.book")}</h3>
        <TextField label={t("cash.day")} type="date" value={book.day} max={today}
          onChange={(e) => isIsoDate(e.target.value) && book.setDay(e.target.value)} />
      </div>
      <ErrorAlert error={book.error} />
      {shown ? <CashBookView book={shown} onCounted={book.reload} /> : !book.error && <Spinner label={t("common.loading")} />}
    </section>
  );
}

function CashBookView({ book, onCounted }: { book: CashBook; onCounted: () => Promise<unknown> }) {
  const { t, lang } = useI18n();
  // The last reversal recorded from this book (said under the table until cash is moved again), and its day.
  const [reversed, setReversed] = useState<{ day: string; id: number; reversal: CashMovement } | null>(null);
  const onReversed = async (movement: CashMovement, reversal: CashMovement) => {
    setReversed({ day: book.day, id: movement.id, reversal });
    await onCounted();
  };
  return (
    <div className="stack-sm cash-book">
      <dl className="facts cash-totals">
        <div><dt>{t("cash.opening")}</dt><dd><Price amount={book.opening} /></dd></div>
        <div><dt>{t("cash.in")}</dt><dd><Price amount={book.received_total} /></dd></div>
        <div><dt>{t("cash.out")}</dt><dd><Price amount={book.paid_back_total} /></dd></div>
        <div><dt>{t("cash.takings")}</dt><dd><Price amount={book.net} /></dd></div>
        <div><dt>{t("cash.banked")}</dt><dd><strong>{signedKES(drawerChange("banked", book.banked_total))}</strong></dd></div>
        <div><dt>{t("cash.floatIn")}</dt><dd><strong>{signedKES(drawerChange("float", book.float_total))}</strong></dd></div>
        <div className="cash-net"><dt>{t("cash.closing")}</dt><dd><Price amount={book.closing} /></dd></div>
      </dl>
      <BookTable title={t("cash.in")} empty={book.received.length === 0 ? t("cash.noneIn") : null}
        columns={[t("money.receipt"), t("money.assignAccount"), t("money.amount"), t("money.note"), t("cash.time")]}>
        {book.received.map((r) => (
          <tr key={r.payment_id} data-receipt={r.receipt}>
            <th scope="row">{r.receipt ?? `#${r.payment_id}`}</th>
            <td><Paid booking={r.booking_id} invoice={r.invoice_id} label={r.account} /></td>
            <td><Price amount={r.amount} /></td>
            <td className="wrap">{r.note ?? ""}</td>
            <td>{r.paid_at ? formatTime(r.paid_at, lang) : "—"}</td>
          </tr>
        ))}
      </BookTable>
      <BookTable title={t("cash.out")} empty={book.paid_back.length === 0 ? t("cash.noneOut") : null}
        columns={[t("money.receipt"), t("cash.for"), t("money.amount"), t("cash.time")]}>
        {book.paid_back.map((r) => (
          <tr key={r.refund_id} data-receipt={r.receipt}>
            <th scope="row">{r.receipt ?? t("money.refundNo", { id: r.refund_id })}</th>
            <td><Paid booking={r.booking_id} invoice={r.invoice_id} label={null} /></td>
            <td><Price amount={r.amount} /></td>
            <td>{r.paid_at ? formatTime(r.paid_at, lang) : "—"}</td>
          </tr>
        ))}
      </BookTable>
      <BookTable title={t("cash.movements")} empty={book.movements.length === 0 ? t("cash.noMovements") : null}
        columns={["#", t("cash.time"), t("cash.kind"), t("money.amount"), t("cash.reference"), t("money.note"),
          <span className="sr-only">{t("admin.actions")}</span>]}>
        {book.movements.map((m) => <MovementRow key={m.id} movement={m} onReversed={onReversed} />)}
      </BookTable>
      {reversed?.day === book.day && <Alert kind="success"><p>{t("cash.didReverse", {
        id: reversed.id, reversal: reversed.reversal.id,
        change: signedKES(drawerChange(reversed.reversal.kind, reversed.reversal.amount)),
      })}</p></Alert>}
      {book.day === nairobiDate()
        ? <MoveCash onMoved={async () => { setReversed(null); await onCounted(); }} />
        : <p className="muted">{t("cash.pastDay")}</p>}
      <CountDrawer key={book.day} book={book} onCounted={onCounted} />
    </div>
  );
}

const MOVEMENT_COLUMNS = 7;

/** A banking or float: its effect on the drawer (a reversal's, the other way), and what a mistake became. One that
 *  stands can be reversed: its form opens in a row of its own under it. */
function MovementRow({ movement: m, onReversed }: {
  movement: CashMovement; onReversed: (movement: CashMovement, reversal: CashMovement) => Promise<unknown>;
}) {
  const { t, lang } = useI18n();
  const [reversing, setReversing] = useState(false);
  const reverseButton = useRef<HTMLButtonElement>(null);
  const standing = movementStanding(m);
  const change = signedKES(drawerChange(m.kind, m.amount));
  const close = () => {
    setReversing(false);
    requestAnimationFrame(() => reverseButton.current?.focus());
  };
  return (
    <>
      <tr data-movement-id={m.id} data-reverses={m.reverses ?? undefined} data-reversed-by={m.reversed_by ?? undefined}
        className={standing.is === "reversed" ? "cash-reversed" : undefined}>
        <th scope="row">#{m.id}</th>
        <td>{formatTime(m.moved_at, lang)}</td>
        <td>
          {t(m.kind === "banked" ? "cash.banked" : "cash.floatIn")}
          {standing.is === "reversal" && <> <span className="cash-reversal-of">{t("cash.reversalOf", { id: standing.of })}</span></>}
        </td>
        <td>{standing.is === "reversed" ? <del>{change}</del> : <strong>{change}</strong>}</td>
        <td>{m.reference ?? ""}</td>
        <td className="wrap">{m.note ?? ""}</td>
        <td>
          {standing.is === "reversed" && <span className="badge badge-muted">{t("cash.reversedBy", { id: standing.by })}</span>}
          {standing.is === "standing" && (
            <button type="button" ref={reverseButton} className="btn btn-small btn-ghost" aria-expanded={reversing}
              onClick={() => setReversing((open) => !open)}>
              {t("cash.reverse")}<span className="sr-only"> #{m.id}</span>
            </button>
          )}
        </td>
      </tr>
      {reversing && standing.is === "standing" && (
        <tr className="cash-reversing">
          <td colSpan={MOVEMENT_COLUMNS}>
            <ReverseMovement movement={m} onCancel={close}
              onReversed={async (reversal) => { setReversing(false); await onReversed(m, reversal); }} />
          </td>
        </tr>
      )}
    </>
  );
}

/** The reversal of a movement recorded by mistake: POST /api/payments/cash/movements/{id}/reversal with the reason
 *  (3 to 200 characters). No Idempotency-Key: a movement is reversed once, and sending it again answers that one. */
function ReverseMovement({ movement, onReversed, onCancel }: {
  movement: CashMovement; onReversed: (reversal: CashMovement) => Promise<unknown>; onCancel: () => void;
}) {
  const { t } = useI18n();
  const [reason, setReason] = useState("");
  const [reasonLeft, setReasonLeft] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const sent = reversalReason(reason);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || sent === null) return;
    setBusy(true);
    setError(null);
    const answer = await api.POST("/api/payments/cash/movements/{movement_id}/reversal", {
      params: { path: { movement_id: movement.id } }, body: { reason: sent },
    }).catch(() => null);
    setBusy(false);
    if (!answer?.data) {
      setError(errorOf(answer?.error, answer?.response.status ?? 0, answer?.response));
      return;
    }
    await onReversed(answer.data.data);
  };

  return (
    <form className="stack-sm cash-reverse-panel" onSubmit={submit} aria-label={t("cash.reverseMovement", { id: movement.id })}
      onKeyDown={(e) => e.key === "Escape" && onCancel()}>
      <p className="muted">{t("cash.reverseSub", { change: signedKES(drawerChange(movement.kind, -movement.amount)) })}</p>
      <div className="paybill-form">
        <TextField label={t("cash.reason")} hint={t("cash.reasonHint")} value={reason} autoComplete="off" autoFocus
          maxLength={REASON_MAX} required onChange={(e) => setReason(e.target.value)} onBlur={() => setReasonLeft(true)}
          error={reasonLeft && sent === null ? t("cash.reasonInvalid") : undefined} />
        <button type="submit" className="btn btn-small btn-primary" disabled={busy || sent === null}>
          {busy ? t("common.wait") : t("cash.reverseSubmit")}
        </button>
        <button type="button" className="btn btn-small btn-ghost" onClick={onCancel}>{t("admin.cancel")}</button>
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}

/** Today's cash banked or float put in: POST /api/payments/cash/movements, stamped now by payments (so never for a
 *  past day's book), keyed per submission like cash taken. Banking is confirmed first; payments refuses to bank more
 *  than the drawer should hold. */
function MoveCash({ onMoved }: { onMoved: () => Promise<unknown> }) {
  const { t } = useI18n();
  const [kind, setKind] = useState<MovementKind>("banked");
  const [amount, setAmount] = useState("");
  const [reference, setReference] = useState("");
  const [note, setNote] = useState("");
  const [amountLeft, setAmountLeft] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const { busy, error, send } = useKeyedPost((key, entry: MovementEntry) =>
    api.POST("/api/payments/cash/movements", { headers: { "Idempotency-Key": key }, body: entry }));
  const shillings = parseMovementAmount(amount);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || shillings === null) return;
    if (kind === "banked" && !window.confirm(t("cash.bankConfirm", { amount: formatKES(shillings) }))) return;
    setDone(null);
    const moved = await send(movementEntry(kind, shillings, reference, note));
    if (!moved) return;
    setDone(t(moved.kind === "banked" ? "cash.didBank" : "cash.didFloat", { amount: formatKES(moved.amount) }));
    setAmount("");
    setReference("");
    setNote("");
    setAmountLeft(false);
    await onMoved();
  };

  return (
    <form className="card stack-sm" onSubmit={submit} aria-labelledby="cash-move">
      <h4 id="cash-move">{t("cash.move")}</h4>
      <p className="muted">{t("cash.moveSub")}</p>
      <fieldset className="radio-group">
        <legend>{t("cash.kind")}</legend>
        <label>
          <input type="radio" name="cash-move-kind" value="banked" checked={kind === "banked"}
            onChange={() => setKind("banked")} /> {t("cash.bankCash")}
        </label>
        <label>
          <input type="radio" name="cash-move-kind" value="float" checked={kind === "float"}
            onChange={() => setKind("float")} /> {t("cash.putFloat")}
        </label>
      </fieldset>
      <div className="paybill-form">
        <TextField label={t("cash.moveAmount")} hint={t("cash.moveAmountHint")} value={amount} inputMode="numeric"
          autoComplete="off" maxLength={20} required onChange={(e) => setAmount(e.target.value)}
          onBlur={() => setAmountLeft(true)}
          error={amountLeft && amount.trim() && shillings === null ? t("cash.moveAmountInvalid") : undefined} />
        <TextField label={t("cash.referenceField")} hint={t("cash.referenceHint")} value={reference}
          autoComplete="off" maxLength={60} onChange={(e) => setReference(e.target.value)} />
        <TextField label={t("cash.note")} hint={t("cash.moveNoteHint")} value={note} autoComplete="off"
          maxLength={200} onChange={(e) => setNote(e.target.value)} />
        <button type="submit" className="btn btn-primary" disabled={busy || shillings === null}>
          {busy ? t("common.wait") : t(kind === "banked" ? "cash.bankSubmit" : "cash.floatSubmit")}
        </button>
      </div>
      <ErrorAlert error={error} />
      {done && <Alert kind="success"><p>{done}</p></Alert>}
    </form>
  );
}

/** One of the book's tables under its heading (its name for screen readers too), or the line saying it is empty. */
function BookTable({ title, empty, columns, children }: {
  title: string; empty: string | null; columns: ReactNode[]; children: ReactNode;
}) {
  return (
    <>
      <h4>{title}</h4>
      {empty !== null ? <p className="empty">{empty}</p> : (
        <div className="table-wrap" role="region" aria-label={title} tabIndex={0}>
          <table className="table">
            <thead><tr>{columns.map((c, i) => <th key={i} scope="col">{c}</th>)}</tr></thead>
            <tbody>{children}</tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** The day's count (the newest) against the book, then the earlier ones, smaller. */
function DrawerCounts({ book }: { book: CashBook }) {
  const { t, lang } = useI18n();
  const line = (count: CashCount) => {
    const { outcome, by } = readCount(count, book.closing);
    const words = outcome === "matches" ? t("cash.matches")
      : t(outcome === "short" ? "cash.short" : "cash.over", { amount: formatKES(by) });
    const said = t("cash.countLine", { amount: formatKES(count.counted), time: formatTime(count.counted_at, lang), outcome: words });
    return count.note ? `${said} (${count.note})` : said;
  };
  const [newest, ...earlier] = book.counts;
  return (
    <div className="stack-sm cash-counts" aria-live="polite">
      {!newest ? <p className="empty">{t("cash.notCounted")}</p> : (
        <div data-count-id={newest.id}>
          <p><strong>{line(newest)}</strong></p>
          {readCount(newest, book.closing).bookChanged && (
            <p className="muted">{t("cash.bookChanged", { amount: formatKES(newest.expected) })}</p>
          )}
        </div>
      )}
      {earlier.length > 0 && (
        <ul className="muted" aria-label={t("cash.earlierCounts")}>
          {earlier.map((c) => <li key={c.id} data-count-id={c.id}><small>{line(c)}</small></li>)}
        </ul>
      )}
    </div>
  );
}

/** The day's counts and the form that adds one: POST /api/payments/cash/counts for the day the book shows. No
 *  Idempotency-Key: a count sent twice is two counts, and the newest is the day's anyway. */
function CountDrawer({ book, onCounted }: { book: CashBook; onCounted: () => Promise<unknown> }) {
  const { t, lang } = useI18n();
  const [counted, setCounted] = useState("");
  const [note, setNote] = useState("");
  const [countedLeft, setCountedLeft] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const amount = parseCountedAmount(counted);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || amount === null) return;
    setBusy(true);
    setError(null);
    const answer = await api.POST("/api/payments/cash/counts", {
      body: { counted: amount, day: book.day, note: note.trim() || null },
    }).catch(() => null);
    setBusy(false);
    if (!answer?.data) {
      setError(errorOf(answer?.error, answer?.response.status ?? 0, answer?.response));
      return;
    }
    setCounted("");
    setNote("");
    setCountedLeft(false);
    await onCounted();
  };

  return (
    <form className="card stack-sm" onSubmit={submit} aria-labelledby="cash-count">
      <h4 id="cash-count">{t("cash.count")}</h4>
      <p className="muted">{t("cash.countSub", { day: formatDay(book.day, lang) })}</p>
      <DrawerCounts book={book} />
      <div className="paybill-form">
        <TextField label={t("cash.counted")} hint={t("cash.countedHint")} value={counted} inputMode="numeric"
          autoComplete="off" maxLength={20} required onChange={(e) => setCounted(e.target.value)}
          onBlur={() => setCountedLeft(true)}
          error={countedLeft && counted.trim() && amount === null ? t("cash.countedInvalid") : undefined} />
        <TextField label={t("cash.note")} hint={t("cash.countNoteHint")} value={note} autoComplete="off"
          maxLength={200} onChange={(e) => setNote(e.target.value)} />
        <button type="submit" className="btn btn-primary" disabled={busy || amount === null}>
          {busy ? t("common.wait") : t("cash.countSubmit")}
        </button>
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}

/** What money paid, linked: the invoice's page, or the booking's (an operator reads any booking there). */
function Paid({ booking, invoice, label }: { booking: number | null; invoice: number | null; label: string | null }) {
  const { t } = useI18n();
  if (invoice !== null) return <Link to={`/invoices/${invoice}`}>{label ?? t("money.invoiceNo", { id: invoice })}</Link>;
  if (booking !== null) return <Link to={`/bookings/${booking}`}>{label ?? t("bookings.booking", { id: booking })}</Link>;
  return <>{label ?? "—"}</>;
}


/** The answer of an openapi-fetch POST (null: no answer at all). */
type Posted<T> = { data?: { data: T }; error?: unknown; response: Response } | null;

/** A form POSTed with an Idempotency-Key per submission: resending one whose answer was lost reuses its key, so
 *  payments records it once however often the operator presses the button. `send` answers the record, or null with
 *  `error` set. */
function useKeyedPost<E extends object, T>(post: (key: string, entry: E) => Promise<Posted<T>>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const lost = useRef<CashSubmission<E> | null>(null);
  const send = async (entry: E): Promise<T | null> => {
    const sending = cashSubmission(lost.current, entry);
    setBusy(true);
    setError(null);
    const answer = await post(sending.key, sending.entry).catch(() => null);
    setBusy(false);
    if (!answer?.data) {
      const status = answer?.response.status ?? 0;
      lost.current = answerLost(status) ? sending : null;
      setError(errorOf(answer?.error, status, answer?.response));
      return null;
    }
    lost.current = null;
    return answer.data.data;
  };
  return { busy, error, send, clear: () => setError(null) };
}

/** POST /api/payments/cash (cash taken for an account), keyed per submission. */
export function useRecordCash() {
  const { send, ...state } = useKeyedPost((key, entry: CashEntry) =>
    api.POST("/api/payments/cash", { headers: { "Idempotency-Key": key }, body: entry }));
  return { ...state, record: send };
}

/** The Money page's form: any account, any amount, a note. */
function RecordCash({ onRecorded }: { onRecorded: () => Promise<unknown> | void }) {
  const { t } = useI18n();
  const [account, setAccount] = useState("");
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [amountLeft, setAmountLeft] = useState(false); // say what is wrong with an amount once it is typed, not midway
  const [done, setDone] = useState<string | null>(null);
  const { busy, error, record } = useRecordCash();
  const shillings = parseCashAmount(amount);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || shillings === null || !account.trim()) return;
    const entry = cashEntry(account, shillings, note);
    // Checked first: an invoice takes any amount (a slip of the finger is a payment, then a refund to hand back).
    if (!window.confirm(t("cash.recordConfirm", { amount: formatKES(shillings), account: entry.account }))) return;
    setDone(null);
    const payment = await record(entry);
    if (!payment) return;
    setDone(t("cash.received", {
      amount: formatKES(payment.amount), account: paidAccount(payment, entry.account),
      receipt: payment.receipt ?? "—",
    }));
    setAccount("");
    setAmount("");
    setNote("");
    setAmountLeft(false);
    await onRecorded();
  };

  return (
    <form className="card stack-sm" onSubmit={submit} aria-labelledby="cash-record">
      <h3 id="cash-record">{t("cash.record")}</h3>
      <div className="paybill-form">
        <TextField label={t("money.assignAccount")} hint={t("money.assignHint")} value={account} autoComplete="off"
          maxLength={40} required onChange={(e) => setAccount(e.target.value)} />
        <TextField label={t("cash.amount")} hint={t("cash.amountHint")} value={amount} inputMode="numeric"
          autoComplete="off" maxLength={16} required onChange={(e) => setAmount(e.target.value)}
          onBlur={() => setAmountLeft(true)}
          error={amountLeft && amount.trim() && shillings === null ? t("cash.amountInvalid") : undefined} />
        <TextField label={t("cash.note")} hint={t("cash.noteHint")} value={note} autoComplete="off" maxLength={200}
          onChange={(e) => setNote(e.target.value)} />
        <button type="submit" className="btn btn-primary" disabled={busy || shillings === null || !account.trim()}>
          {busy ? t("common.wait") : t("cash.submit")}
        </button>
      </div>
      <ErrorAlert error={error} />
      {done && <Alert kind="success"><p>{done}</p></Alert>}
    </form>
  );
}
