import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, errorOf, publicApi, type ApiError } from "../api/client";
import { tokens, type StoredSession } from "./tokens";

type User = StoredSession["user"];

interface Session {
  user: User | null;
  isAdmin: boolean;
  login: (email: string, password: string) => Promise<ApiError | null>;
  register: (body: { email: string; phone: string; name: string; password: string }) => Promise<ApiError | null>;
  /** The signed-in owner's new password: every other session ends, this one is replaced by the answer's. */
  changePassword: (currentPassword: string, newPassword: string) => Promise<ApiError | null>;
  /** A new password through an emailed link's token: signs in, as login does. */
  resetPassword: (token: string, password: string) => Promise<ApiError | null>;
  /** Sign out on every other device (a lost phone): this one goes on with the answer's new session. */
  logoutEverywhereElse: () => Promise<ApiError | null>;
  logout: () => Promise<void>;
}

/** Keep the session an answer of login's shape (login, register, password change and reset) gives; its refresh
 *  token is the cookie the same answer set. */
function adopt(data: StoredSession): void {
  tokens.set({ token: data.token, user: data.user });
}

const Ctx = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<StoredSession | null>(() => tokens.session);
  useEffect(() => tokens.subscribe(setSession), []);
  useEffect(() => {
    // Another tab logged in or out.
    const onStorage = (e: StorageEvent) => {
      if (e.key === "jesh.session") setSession(tokens.session);
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  const login = useCallback(async (email: string, password: string) => {
    const { data, error, response } = await publicApi.POST("/api/auth/login", { body: { email, password } });
    if (!data) return errorOf(error, response.status, response);
    adopt(data);
    return null;
  }, []);

  const register = useCallback(async (body: { email: string; phone: string; name: string; password: string }) => {
    const { data, error, response } = await publicApi.POST("/api/auth/register", { body });
    if (!data) return errorOf(error, response.status, response);
    adopt(data);
    return null;
  }, []);

  const changePassword = useCallback(async (currentPassword: string, newPassword: string) => {
    const { data, error, response } = await api.POST("/api/auth/password", {
      body: { current_password: currentPassword, new_password: newPassword },
    });
    if (!data) return errorOf(error, response.status, response);
    adopt(data); // the server revoked the old refresh token: only this one works now
    return null;
  }, []);

  const resetPassword = useCallback(async (token: string, password: string) => {
    const { data, error, response } = await publicApi.POST("/api/auth/password-reset/confirm", {
      body: { token, password },
    });
    if (!data) return errorOf(error, response.status, response);
    adopt(data);
    return null;
  }, []);

  const logoutEverywhereElse = useCallback(async () => {
    // This session's refresh token proves it is one (the cookie's; or, once, one stored before the cookie).
    const current = tokens.session;
    const { data, error, response } = await api.POST("/api/auth/logout-everywhere", {
      body: current?.refresh_token ? { refresh_token: current.refresh_token } : {},
    });
    if (!data) return errorOf(error, response.status, response);
    adopt(data); // every earlier token of the account is refused from now on, this device's included
    return null;
  }, []);

  const logout = useCallback(async () => {
    const current = tokens.session;
    if (current) {
      try {
        // The cookie's family (or, once, a refresh token stored before the cookie); the answer clears the cookie.
        await api.POST("/api/auth/logout", { body: current.refresh_token ? { refresh_token: current.refresh_token } : {} });
      } catch {
        /* offline: forget the tokens anyway */
      }
    }
    tokens.set(null);
  }, []);

  const value = useMemo<Session>(
    () => ({
      user: session?.user ?? null, isAdmin: session?.user.role === "admin",
      login, register, changePassword, resetPassword, logoutEverywhereElse, logout,
    }),
    [session, login, register, changePassword, resetPassword, logoutEverywhereElse, logout],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useSession outside SessionProvider");
  return ctx;
}
