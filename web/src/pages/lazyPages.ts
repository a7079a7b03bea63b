/** Chunks of signed-in pages that are fetched before they are shown, where the next step is known (App.tsx makes
 * them lazy with these same loaders, so a page fetched early is not fetched again). */

/** The booking page: the M-PESA prompt and the hold's countdown, one tap after a unit page's Book button. */
export const loadBookingPage = () => import("./BookingPage");
