import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { Component, lazy, Suspense, type ReactNode } from "react";
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
import { Alert, Spinner } from "./components/ui";
import { useI18n } from "./i18n/i18n";

// The operator console is a chunk of its own, fetched the first time an admin opens /admin.
const Console = lazy(() => import("./pages/admin/Console"));

function RequireUser({ children, admin }: { children: ReactNode; admin?: boolean }) {
  const { user, isAdmin } = useSession();
  const location = useLocation();
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (admin && !isAdmin) return <Navigate to="/" replace />;
  return <>{children}</>;
}

function Loading() {
  const { t } = useI18n();
  return <Spinner label={t("common.loading")} />;
}

function LoadFailed() {
  const { t } = useI18n();
  return (
    <Alert kind="error">
      <p>{t("common.loadFailed")}</p>
      <p><button type="button" className="btn btn-secondary" onClick={() => window.location.reload()}>{t("common.reload")}</button></p>
    </Alert>
  );
}

/** A lazily loaded chunk that cannot be fetched (offline, or a new deployment replaced its hashed file) shows an
 *  error with a reload instead of a blank page. */
class ChunkBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  render() {
    return this.state.failed ? <LoadFailed /> : this.props.children;
  }
}

function LazyConsole() {
  return (
    <ChunkBoundary>
      <Suspense fallback={<Loading />}>
        <Console />
      </Suspense>
    </ChunkBoundary>
  );
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
