import { describe, expect, it } from "vitest";
import { enConsole } from "./consoleMessages";

// Every source file of the app, as text (tests and the sentences themselves left out).
const SOURCES = Object.entries(import.meta.glob<string>(["../**/*.{ts,tsx}", "!../**/*.test.{ts,tsx}", "!../i18n/**",
  "!../api/generated/**"], { query: "?raw", import: "default", eager: true }));
// The console's own files (its chunk); MpesaPrompt is also the customer's invoice page's (InvoicePage.tsx).
const inConsole = (path: string) => path.startsWith("../pages/admin/") && !path.endsWith("/MpesaPrompt.tsx");
const CONSOLE_KEYS = Object.keys(enConsole);

describe("the console's sentences", () => {
  it("are said by the console's own files only: anywhere else they are not loaded yet (a key would show)", () => {
    const outside: string[] = [];
    for (const [path, text] of SOURCES) {
      if (inConsole(path)) continue;
      // A key named whole, or built from a prefix (t(`status.${s}`)).
      const prefixes = [...text.matchAll(/`([a-zA-Z][\w.-]*[.-])\$\{/g)].map((m) => m[1] ?? "");
      for (const key of CONSOLE_KEYS) {
        if (text.includes(`"${key}"`) || prefixes.some((prefix) => key.startsWith(prefix))) outside.push(`${path}: ${key}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("sees the app's files", () => {
    expect(SOURCES.some(([path]) => path === "../pages/admin/CashDesk.tsx")).toBe(true);
    expect(SOURCES.some(([path]) => path === "../pages/UnitsPage.tsx")).toBe(true);
  });
});
