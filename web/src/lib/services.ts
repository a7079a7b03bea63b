/** Every service's public prefix: the console's pages that ask each service the same thing (its parked events, its
 *  audit log) go through these. */
export const SERVICES = {
  auth: "/api/auth",
  inventory: "/api/units",
  booking: "/api/bookings",
  payments: "/api/payments",
  transport: "/api/transport-requests",
  billing: "/api/billing",
  notifications: "/api/notifications",
} as const;
export type Service = keyof typeof SERVICES;
export type Prefix = (typeof SERVICES)[Service];
export const SERVICE_NAMES = Object.keys(SERVICES) as Service[];
