import { describe, expect, it } from "vitest";
import { everyEnglish as en } from "./everyEnglish";
import { sw } from "./sw";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("messages", () => {
  it("every language has every sentence, with the same placeholders", () => {
    for (const [lang, dict] of Object.entries({ sw })) {
      expect(Object.keys(dict).sort(), lang).toEqual(Object.keys(en).sort());
      for (const key of Object.keys(en) as (keyof typeof en)[]) {
        expect(dict[key].trim(), `${lang} ${key}`).not.toBe("");
        expect(placeholders(dict[key]), `${lang} ${key}`).toEqual(placeholders(en[key]));
      }
    }
  });
});
