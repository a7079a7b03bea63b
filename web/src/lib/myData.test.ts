import { describe, expect, it } from "vitest";
import { myDataFileName } from "./myData";

describe("myDataFileName", () => {
  it("names the file by the day", () => {
    expect(myDataFileName("2026-12-02")).toBe("jesh-my-data-2026-12-02.json");
  });
});
