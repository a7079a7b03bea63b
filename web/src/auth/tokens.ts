// Access and refresh tokens, kept in localStorage so that a customer stays logged in across visits.
// The access token is short-lived; it is refreshed (with rotation) shortly before it expires, once per tab at a
// time, and a tab that finds a newer refresh token written by another tab uses that one instead of reusing a
// spent one (which would revoke the whole family).

const KEY = "jesh.session";

export interface StoredSession {
  token: string;
  refresh_token: string;
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
    refresh: (refreshToken: string) => Promise<{ token: string; refresh_token: string } | null>,
  ): Promise<string | null> {
    const current = read();
    if (!current) return null;
    if (jwtExpiry(current.token) - Date.now() / 1000 > 60) return current.token;
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const before = read();
        if (!before) return null;
        if (jwtExpiry(before.token) - Date.now() / 1000 > 60) return before.token; // another tab refreshed
        const next = await refresh(before.refresh_token);
        if (!next) {
          const now = read();
          // Another tab may have rotated meanwhile: keep its session rather than logging out.
          if (now && now.refresh_token !== before.refresh_token) return now.token;
          this.set(null);
          return null;
        }
        this.set({ ...before, ...next });
        return next.token;
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  onUnauthorized(): void {
    const current = read();
    // An access token the server refuses although it has not expired (keys rotated, account changed): log out.
    if (current && jwtExpiry(current.token) - Date.now() / 1000 > 60) this.set(null);
  }
}

export const tokens = new TokenStore();
