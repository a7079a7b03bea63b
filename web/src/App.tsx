import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { lazy, type ReactNode } from "react";
import { Layout } from "./components/Layout";
import { useSession } from "./auth/session";
import { UnitsPage } from "./pages/UnitsPage";
import { UnitPage } from "./pages/UnitPage";
import { ForgotPasswordPage, LoginPage, ResetPasswordPage, SignupPage } from "./pages/AuthPages";
import { BookingsPage } from "./pages/BookingsPage";
import { BookingPage } from "./pages/BookingPage";
import { TransportPage } from "./pages/TransportPage";
import { ProfilePage } from "./pages/ProfilePage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { CardReturnPage } from "./pages/CardReturnPage";
import { NotificationsPage } from "./pages/NotificationsPage";
import { InvoicePage } from "./pages/InvoicePage";
import { LazyChunk } from "./components/LazyChunk";

// The operator console is a chunk of its own, fetched the first time an admin opens /admin.
const Console = lazy(() => import("./pages/admin/Console"));

function RequireUser({ children, admin }: { children: ReactNode; admin?: boolean }) {
  const { user, isAdmin } = useSession();
  const location = useLocation();
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (admin && !isAdmin) return <Navigate to="/" replace />;
  return <>{children}</>;
}

function LazyConsole() {
  return <LazyChunk><Console /></LazyChunk>;
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
        <Route path="forgot-password" element={<ForgotPasswordPage />} />
        <Route path="reset-password" element={<ResetPasswordPage />} />
        <Route path="bookings" element={<RequireUser><BookingsPage /></RequireUser>} />
        <Route path="bookings/card-return" element={<RequireUser><CardReturnPage /></RequireUser>} />
        <Route path="bookings/:bookingId" element={<RequireUser><BookingPage /></RequireUser>} />
        <Route path="invoices/:invoiceId" element={<RequireUser><InvoicePage /></RequireUser>} />
        <Route path="transport" element={<RequireUser><TransportPage /></RequireUser>} />
        <Route path="profile" element={<RequireUser><ProfilePage /></RequireUser>} />
        <Route path="profile/notifications" element={<RequireUser><NotificationsPage /></RequireUser>} />
        <Route path="admin/*" element={<RequireUser admin><LazyConsole /></RequireUser>} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
