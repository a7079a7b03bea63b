import { describe, expect, it, vi } from "vitest";

describe("languages", () => {
  it("Swahili is fetched on demand; until then a sentence falls back to English", async () => {
    vi.resetModules(); // a fresh i18n module, as a page that has not loaded Swahili yet
    const i18n = await import("./i18n");
    expect(i18n.isLoaded("en")).toBe(true);
    expect(i18n.isLoaded("sw")).toBe(false);
    expect(i18n.translate("sw", "nav.units")).toBe("Units");
    await i18n.loadLang("sw");
    expect(i18n.isLoaded("sw")).toBe(true);
    expect(i18n.translate("sw", "nav.units")).toBe("Vyumba");
    expect(i18n.translate("en", "nav.units")).toBe("Units");
  });
});
