import { beforeEach, describe, expect, it, vi } from "vitest";
import { jwtExpiry, tokens, type StoredSession } from "./tokens";

function jwt(expInSeconds: number, tag = "x"): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "EdDSA" })}.${b64({ sub: "7", exp: Math.floor(Date.now() / 1000) + expInSeconds, tag })}.sig`;
}

const USER = { id: 7, email: "a@b.ke", name: "A", role: "user" };

/** A session as the portal keeps it now (its refresh token is the server's HttpOnly cookie), or, given a refresh
 *  token, as it kept them before. */
function session(token: string, legacyRefresh?: string): StoredSession {
  return legacyRefresh ? { token, refresh_token: legacyRefresh, user: USER } : { token, user: USER };
}

beforeEach(() => {
  const data = new Map<string, string>();
  globalThis.localStorage = {
    get length() { return data.size; },
    clear: () => data.clear(),
    getItem: (k: string) => data.get(k) ?? null,
    key: (i: number) => [...data.keys()][i] ?? null,
    removeItem: (k: string) => { data.delete(k); },
    setItem: (k: string, v: string) => { data.set(k, v); },
  } as Storage;
});

describe("the token store", () => {
  it("reads a JWT's expiry", () => {
    const token = jwt(900);
    expect(jwtExpiry(token)).toBeGreaterThan(Date.now() / 1000 + 890);
    expect(jwtExpiry("not a jwt")).toBe(0);
  });

  it("uses the access token while it has more than a minute left", async () => {
    const token = jwt(600);
    tokens.set(session(token));
    const refresh = vi.fn();
    expect(await tokens.freshAccessToken(refresh)).toBe(token);
    expect(refresh).not.toHaveBeenCalled();
  });

  it("rotates once (by the cookie), whatever the number of requests waiting, and never stores a refresh token",
    async () => {
      tokens.set(session(jwt(30)));
      const fresh = jwt(900, "new");
      const refresh = vi.fn(async (legacy: string | null) => {
        expect(legacy).toBeNull(); // the cookie goes by itself
        await new Promise((r) => setTimeout(r, 5));
        return { token: fresh };
      });
      const got = await Promise.all([1, 2, 3].map(() => tokens.freshAccessToken(refresh)));
      expect(got).toEqual([fresh, fresh, fresh]);
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(tokens.session).toEqual({ token: fresh, user: USER });
      expect(localStorage.getItem("jesh.session")).not.toContain("refresh");
    });

  it("spends a refresh token stored before the cookie once, then forgets it", async () => {
    tokens.set(session(jwt(30), "r-old"));
    const fresh = jwt(900, "new");
    const refresh = vi.fn(async (legacy: string | null) => (legacy === "r-old" ? { token: fresh } : null));
    expect(await tokens.freshAccessToken(refresh)).toBe(fresh);
    expect(tokens.session?.refresh_token).toBeUndefined();
  });

  it("logs out when the refresh token is refused", async () => {
    tokens.set(session(jwt(10)));
    const seen: (StoredSession | null)[] = [];
    const unsubscribe = tokens.subscribe((s) => seen.push(s));
    expect(await tokens.freshAccessToken(async () => null)).toBeNull();
    expect(tokens.session).toBeNull();
    expect(seen).toEqual([null]);
    unsubscribe();
  });

  it("takes another tab's rotation instead of logging out", async () => {
    tokens.set(session(jwt(10)));
    const theirs = jwt(900, "other-tab");
    const refresh = async () => {
      localStorage.setItem("jesh.session", JSON.stringify(session(theirs)));
      return null; // the cookie we sent had just been spent by the other tab
    };
    expect(await tokens.freshAccessToken(refresh)).toBe(theirs);
    expect(tokens.session?.token).toBe(theirs);
  });
});
