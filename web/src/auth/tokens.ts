// The session: the short-lived access token and the user, kept in localStorage so that every tab shares them. The
// refresh token is not here: the server keeps it in an HttpOnly cookie (X-Jesh-Session: cookie, sent by the API
// client), out of reach of any script on the page. The access token is refreshed (with rotation) shortly before it
// expires, by one tab at a time (a Web Lock): a tab that gets the lock after another has refreshed finds the new
// access token here and does not spend the cookie again (reusing a spent one revokes the whole family).

const KEY = "jesh.session";

export interface StoredSession {
  token: string;
  /** Only in sessions stored before the refresh token moved to its cookie: spent once, then dropped. */
  refresh_token?: string | null;
  user: { id: number; email: string; name: string; role: string; phone?: string | null };
}

type Listener = (session: StoredSession | null) => void;

function read(): StoredSession | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  } catch {
    return null;
  }
}

/** Seconds-since-epoch expiry of a JWT, or 0 when unreadable. */
export function jwtExpiry(token: string): number {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = (JSON.parse(json) as { exp?: number }).exp;
    return typeof exp === "number" ? exp : 0;
  } catch {
    return 0;
  }
}

/** More than a minute left: used as it is, not refreshed first. */
const fresh = (token: string) => jwtExpiry(token) - Date.now() / 1000 > 60;

/** Run `task` while holding the refresh lock shared by every tab of the portal (where Web Locks exist). */
async function oneTabAtATime<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? await locks.request("jesh.refresh", task) : task();
}

class TokenStore {
  private listeners = new Set<Listener>();
  private refreshing: Promise<string | null> | null = null;

  get session(): StoredSession | null {
    return read();
  }

  set(session: StoredSession | null): void {
    if (session) localStorage.setItem(KEY, JSON.stringify(session));
    else localStorage.removeItem(KEY);
    this.listeners.forEach((l) => l(session));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The access token, refreshed first when it expires within a minute. */
  async freshAccessToken(
    refresh: (legacyRefreshToken: string | null) => Promise<{ token: string } | null>,
  ): Promise<string | null> {
    const current = read();
    if (!current) return null;
    if (fresh(current.token)) return current.token;
    if (!this.refreshing) {
      this.refreshing = oneTabAtATime(async () => {
        const before = read();
        if (!before) return null;
        if (fresh(before.token)) return before.token; // another tab refreshed
        const next = await refresh(before.refresh_token ?? null);
        if (!next) {
          const now = read();
          // Another tab may have rotated meanwhile: keep its session rather than logging out.
          if (now && now.token !== before.token && fresh(now.token)) return now.token;
          this.set(null);
          return null;
        }
        this.set({ token: next.token, user: before.user });
        return next.token;
      }).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  onUnauthorized(): void {
    const current = read();
    // An access token the server refuses although it has not expired (keys rotated, account changed): log out.
    if (current && fresh(current.token)) this.set(null);
  }
}

export const tokens = new TokenStore();
