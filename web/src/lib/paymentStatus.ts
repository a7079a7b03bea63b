// A booking's latest payment as `GET /api/payments/status/{booking_id}` answers it (for its owner or an admin), read
// the way the payment status poller wants it. The customer's pay panel and an operator's prompt both follow a
// payment through it (an invoice's payment too: it is the rental's booking's).
import { api, type paymentsSchemas } from "../api/client";
import { normalizeStatus, type PaymentSnapshot } from "./paymentPoller";

export type PaymentStatus = paymentsSchemas["PaymentStatus"];

/** The answer as the poller's snapshot. With `paymentId`, null while the answer is about another payment: the latest
 *  may be an older one until ours is recorded, or a newer one (an autopay push) may have overtaken it. */
export function snapshotOf(status: PaymentStatus, paymentId?: number): PaymentSnapshot | null {
  if (paymentId !== undefined && status.id !== paymentId) return null;
  return {
    status: normalizeStatus(status.status),
    reason: status.reason ?? null,
    transactionCode: status.transaction_code,
    method: status.method,
  };
}

/** One look for the poller: null while the booking has no payment (404) or not yet this one; any other failure
 *  throws, and the poller tries again. */
export async function lookAtPayment(bookingId: number, paymentId?: number): Promise<PaymentSnapshot | null> {
  const { data, response } = await api.GET("/api/payments/status/{booking_id}", {
    params: { path: { booking_id: bookingId } },
  });
  if (!data) {
    if (response.status === 404) return null;
    throw new Error(String(response.status));
  }
  return snapshotOf(data.data, paymentId);
}
