// The one API client: generated from contracts/openapi (openapi-typescript) and called through openapi-fetch.
// Same origin: the gateway serves the portal and /api alike.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./generated";
import { tokens } from "../auth/tokens";
import { parseRetryAfter } from "../lib/retryAfter";

export type { paths };
export type {
  authSchemas, billingSchemas, bookingSchemas, inventorySchemas, notificationsSchemas, paymentsSchemas,
  transportSchemas,
} from "./generated";

/** The auth service keeps the refresh token in an HttpOnly cookie for us (never in the page's reach). */
const cookieSession: Middleware = {
  async onRequest({ request }) {
    if (new URL(request.url, window.location.origin).pathname.startsWith("/api/auth/")) {
      request.headers.set("X-Jesh-Session", "cookie");
    }
    return request;
  },
};

/** Without the bearer middleware: login, register and refresh themselves. */
export const publicApi = createClient<paths>({ baseUrl: "" });
publicApi.use(cookieSession);

const bearer: Middleware = {
  async onRequest({ request }) {
    const token = await tokens.freshAccessToken(refreshTokens);
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  async onResponse({ response }) {
    if (response.status === 401) tokens.onUnauthorized();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(cookieSession, bearer);

/** Rotate the refresh token, the cookie's (or a session's stored before the cookie, once): the server revokes the
 *  whole family if a spent one is reused. */
async function refreshTokens(legacyRefreshToken: string | null): Promise<{ token: string } | null> {
  const body = legacyRefreshToken ? { refresh_token: legacyRefreshToken } : {};
  const { data, response } = await publicApi.POST("/api/auth/refresh", { body });
  if (data) return { token: data.token };
  if (response.status === 401 || response.status === 400) return null;
  throw new Error(`refresh failed: ${response.status}`);
}

export interface ApiError {
  message: string;
  errors?: { field: string; message: string }[];
  status: number;
  /** Seconds to wait before trying again (a 429's Retry-After), when the response was given to errorOf. */
  retryAfter?: number;
}

/** The readable message of an error envelope (or of a network failure); with the response, a 429's wait too. */
export function errorOf(error: unknown, status: number, response?: Response): ApiError {
  const retryAfter = status === 429 ? parseRetryAfter(response?.headers.get("Retry-After")) : undefined;
  const wait = retryAfter === undefined ? {} : { retryAfter };
  if (error && typeof error === "object" && "message" in error && typeof error.message === "string") {
    const errors = "errors" in error && Array.isArray(error.errors) ? (error.errors as ApiError["errors"]) : undefined;
    return { message: error.message, errors, status, ...wait };
  }
  return { message: "", status, ...wait };
}
