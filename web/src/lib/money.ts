// Money is integer Kenya shillings everywhere; the server computes every price that is charged.

/** "KES 3,500" — whole shillings, grouped the way Kenyan receipts print them (same in English and Swahili). */
export function formatKES(amount: number): string {
  if (!Number.isFinite(amount)) return "KES —";
  const whole = Math.round(amount);
  const sign = whole < 0 ? "-" : "";
  const grouped = Math.abs(whole)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}KES ${grouped}`;
}

/**
 * The server's rule for a fixed-range booking, shown as an estimate before the booking exists:
 * ceil(monthly_price * days / 30). The booking's own total_price (computed by the server) is what is charged.
 */
export function fixedRangeEstimate(monthlyPrice: number, days: number): number | null {
  if (!Number.isInteger(monthlyPrice) || monthlyPrice <= 0 || !Number.isInteger(days) || days <= 0) return null;
  return Math.ceil((monthlyPrice * days) / 30);
}

/** The transport tariff's shape (base fee + per km, rounded up); the server's estimated_cost is the real one. */
export function transportEstimate(distanceKm: number, baseFee = 1000, perKm = 100): number | null {
  if (!Number.isFinite(distanceKm) || distanceKm <= 0 || distanceKm > 500) return null;
  return baseFee + Math.ceil(distanceKm * perKm - 1e-9);
}
