import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { lazy, type ReactNode } from "react";
import { Layout } from "./components/Layout";
import { useSession } from "./auth/session";
import { UnitsPage } from "./pages/UnitsPage";
import { UnitPage } from "./pages/UnitPage";
import { LoginPage, SignupPage } from "./pages/AuthPages";
import { BookingsPage } from "./pages/BookingsPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { LazyChunk } from "./components/LazyChunk";
import { loadBookingPage } from "./pages/lazyPages";

// The operator console is a chunk of its own, fetched the first time an admin opens /admin.
const Console = lazy(() => import("./pages/admin/Console"));
// So are the signed-in customer's pages past their list of bookings (a booking with its payment and rental, an
// invoice, transport, the profile and its messages, the return from Pesapal's card page): a visitor finding a unit or
// logging in loads none of them, and the main chunk stays well under Vite's 400 kB warning.
const InvoicePage = lazy(() => import("./pages/InvoicePage").then((m) => ({ default: m.InvoicePage })));
const TransportPage = lazy(() => import("./pages/TransportPage").then((m) => ({ default: m.TransportPage })));
const ProfilePage = lazy(() => import("./pages/ProfilePage").then((m) => ({ default: m.ProfilePage })));
const NotificationsPage = lazy(() =>
  import("./pages/NotificationsPage").then((m) => ({ default: m.NotificationsPage })));
const BookingPage = lazy(() => loadBookingPage().then((m) => ({ default: m.BookingPage })));
const CardReturnPage = lazy(() => import("./pages/CardReturnPage").then((m) => ({ default: m.CardReturnPage })));
// And the password pages reached from the login page's link or an email, which few visitors open.
const ForgotPasswordPage = lazy(() => import("./pages/PasswordPages").then((m) => ({ default: m.ForgotPasswordPage })));
const ResetPasswordPage = lazy(() => import("./pages/PasswordPages").then((m) => ({ default: m.ResetPasswordPage })));

/** A signed-in page (an operator's with `admin`); `lazy`: its chunk is fetched when first shown. */
function RequireUser({ children, admin, lazy: chunk }: { children: ReactNode; admin?: boolean; lazy?: boolean }) {
  const { user, isAdmin } = useSession();
  const location = useLocation();
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (admin && !isAdmin) return <Navigate to="/" replace />;
  return chunk ? <LazyChunk>{children}</LazyChunk> : <>{children}</>;
}

// Every top-level path here must also be routed to the portal by the gateway (gateway/dynamic/web.yml).
export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<UnitsPage />} />
        <Route path="units/:unitId" element={<UnitPage />} />
        <Route path="login" element={<LoginPage />} />
        <Route path="signup" element={<SignupPage />} />
        <Route path="forgot-password" element={<LazyChunk><ForgotPasswordPage /></LazyChunk>} />
        <Route path="reset-password" element={<LazyChunk><ResetPasswordPage /></LazyChunk>} />
        <Route path="bookings" element={<RequireUser><BookingsPage /></RequireUser>} />
        <Route path="bookings/card-return" element={<RequireUser lazy><CardReturnPage /></RequireUser>} />
        <Route path="bookings/:bookingId" element={<RequireUser lazy><BookingPage /></RequireUser>} />
        <Route path="invoices/:invoiceId" element={<RequireUser lazy><InvoicePage /></RequireUser>} />
        <Route path="transport" element={<RequireUser lazy><TransportPage /></RequireUser>} />
        <Route path="profile" element={<RequireUser lazy><ProfilePage /></RequireUser>} />
        <Route path="profile/notifications" element={<RequireUser lazy><NotificationsPage /></RequireUser>} />
        <Route path="admin/*" element={<RequireUser admin lazy><Console /></RequireUser>} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
