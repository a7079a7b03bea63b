import { Navigate, Route, Routes } from "react-router-dom";
import { NotFoundPage } from "../NotFoundPage";
import { AdminLayout } from "./AdminLayout";
import { AdminUnits } from "./AdminUnits";
import { AdminBookings } from "./AdminBookings";
import { AdminTransport } from "./AdminTransport";
import { AdminMoney } from "./AdminMoney";
import { AdminRentals } from "./AdminRentals";
import { AdminInvoices } from "./AdminInvoices";
import { AdminReports } from "./AdminReports";
import { AdminEvents } from "./AdminEvents";
import { AdminAudit } from "./AdminAudit";
import { AdminCustomers } from "./AdminCustomers";
import { AdminCustomer } from "./AdminCustomer";
import { addEnglish } from "../../i18n/i18n";
import { enConsole } from "../../i18n/consoleMessages";

// The console's sentences in English come with its chunk (not in the main one): added before any of its pages shows.
addEnglish(enConsole);

/** The operator console's routes, under /admin/*: one chunk of its own (App.tsx loads it lazily), so that customers
 *  never download it. A path no section has gets the portal's NotFound page, outside the console's tabs, as before. */
export default function Console() {
  return (
    <Routes>
      <Route element={<AdminLayout />}>
        <Route index element={<Navigate to="units" replace />} />
        <Route path="units" element={<AdminUnits />} />
        <Route path="bookings" element={<AdminBookings />} />
        <Route path="customers" element={<AdminCustomers />} />
        <Route path="customers/:customerId" element={<AdminCustomer />} />
        <Route path="transport" element={<AdminTransport />} />
        <Route path="money" element={<AdminMoney />} />
        <Route path="rentals" element={<AdminRentals />} />
        <Route path="invoices" element={<AdminInvoices />} />
        <Route path="reports" element={<AdminReports />} />
        <Route path="events" element={<AdminEvents />} />
        <Route path="audit" element={<AdminAudit />} />
      </Route>
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
