import { api, errorOf, type bookingSchemas, type inventorySchemas } from "../api/client";

export type Booking = bookingSchemas["BookingOut"];
export type Unit = inventorySchemas["UnitOut"];

/** The caller's bookings (an admin's: everyone's, with the filters given), newest first: `limit` of them (the server's
 *  200 when not given) from `offset`. */
export async function loadBookings(query: {
  status?: "pending" | "confirmed" | "cancelled"; user_id?: number; unit_id?: number; refund_status?: "required";
  booking_id?: number; limit?: number; offset?: number;
} = {}) {
  const { data, error, response } = await api.GET("/api/bookings", { params: { query } });
  if (!data) return { error: errorOf(error, response.status) };
  return { data: [...data.data].sort((a, b) => b.id - a.id) };
}

/** Units by id (the catalogue is public and cached by the server). */
export async function loadUnitIndex() {
  const { data, error, response } = await api.GET("/api/units", {});
  if (!data) return { error: errorOf(error, response.status) };
  return { data: new Map<number, Unit>(data.data.map((u) => [u.id, u])) };
}

/** A monthly rental (open-ended unless a move-out date is set) rather than a fixed range. Reads the fields the
 * booking contract adds for monthly rentals, so that it works with the contract before and after they land. */
export function isMonthly(b: Booking): boolean {
  return "plan" in b && b.plan === "monthly";
}

/** The monthly rate fixed at booking (monthly rentals), or null. */
export function monthlyRateOf(b: Booking): number | null {
  return "monthly_rate" in b && typeof b.monthly_rate === "number" ? b.monthly_rate : null;
}

/** A booking still to be paid: pending (its hold not yet lapsed into a cancellation) and no payment succeeded. */
export function awaitingPayment(b: Pick<Booking, "status" | "payment_status">): boolean {
  return b.status === "pending" && b.payment_status !== "success";
}
