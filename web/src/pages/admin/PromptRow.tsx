import { useState } from "react";
import { useReloadWhile } from "../../lib/useReloadWhile";
import { MpesaPrompt, type MpesaPromptProps } from "./MpesaPrompt";

/** A console table's M-PESA prompts: the row whose prompt panel is open, and the rows a prompt paid. The payment
 *  reaches a row by an event (booking confirms it, billing records it), so the table is read again while one of them
 *  is still `unsettled`. */
export function useRowPrompts<Row extends { id: number }>(
  rows: Row[] | undefined, unsettled: (row: Row) => boolean, reload: () => Promise<unknown>,
) {
  const [open, setOpen] = useState<number | null>(null);
  const [paidByPrompt, setPaidByPrompt] = useState<number[]>([]);
  useReloadWhile(rows?.some((r) => paidByPrompt.includes(r.id) && unsettled(r)) ?? false, reload);
  return {
    /** The row whose panel is open (null: none). */
    open,
    openFor: (id: number) => setOpen(id),
    /** The panel's callbacks for a row. */
    handlers: (id: number) => ({
      onPaid: () => { setPaidByPrompt((p) => [...p, id]); void reload(); },
      onClose: () => setOpen(null),
    }),
  };
}

/** The prompt panel as a table row under the row it is for, across the table's `colSpan` columns. */
export function PromptRow({ colSpan, ...prompt }: MpesaPromptProps & { colSpan: number }) {
  return (
    <tr className="prompt-row">
      <td colSpan={colSpan}>
        <MpesaPrompt {...prompt} />
      </td>
    </tr>
  );
}
