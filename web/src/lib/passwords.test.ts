import { describe, expect, it } from "vitest";
import { newPasswordProblem, resetTokenFromHash } from "./passwords";

describe("resetTokenFromHash: the token of an emailed reset link", () => {
  it("reads the token of the fragment, with or without its #", () => {
    expect(resetTokenFromHash("#token=Abc-123_xyz")).toBe("Abc-123_xyz");
    expect(resetTokenFromHash("token=Abc-123_xyz")).toBe("Abc-123_xyz");
  });
  it("ignores other parameters and decodes escapes", () => {
    expect(resetTokenFromHash("#utm=mail&token=a%2Db&x=1")).toBe("a-b");
  });
  it("is null without a token", () => {
    expect(resetTokenFromHash("")).toBeNull();
    expect(resetTokenFromHash("#")).toBeNull();
    expect(resetTokenFromHash("#token=")).toBeNull();
    expect(resetTokenFromHash("#token=%20")).toBeNull();
    expect(resetTokenFromHash("#something-else")).toBeNull();
  });
});

describe("newPasswordProblem: checked before sending", () => {
  it("wants at least 8 characters", () => {
    expect(newPasswordProblem("1234567", "1234567")).toBe("short");
    expect(newPasswordProblem("", "")).toBe("short");
    expect(newPasswordProblem("12345678", "12345678")).toBeNull();
  });
  it("wants the same password twice, exactly", () => {
    expect(newPasswordProblem("correct horse", "correct hors")).toBe("mismatch");
    expect(newPasswordProblem("correct horse", "Correct horse")).toBe("mismatch");
    expect(newPasswordProblem("correct horse", "correct horse")).toBeNull();
  });
  it("reports a short password before a mismatch", () => {
    expect(newPasswordProblem("short", "other")).toBe("short");
  });
});
