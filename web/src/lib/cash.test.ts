import { describe, expect, it } from "vitest";
import {
  answerLost, cashEntry, cashSubmission, drawerChange, freshKey, movementEntry, movementStanding, paidAccount,
  parseCashAmount, parseCountedAmount, parseMovementAmount, readCount, reversalReason, signedKES,
} from "./cash";

describe("parseCashAmount", () => {
  it("reads whole shillings, grouped or not", () => {
    expect(parseCashAmount("4500")).toBe(4500);
    expect(parseCashAmount(" 4,500 ")).toBe(4500);
    expect(parseCashAmount("4 500")).toBe(4500);
    expect(parseCashAmount("KES 1,000,000")).toBe(1_000_000);
    expect(parseCashAmount("1")).toBe(1);
  });
  it("refuses nothing, zero, cents, signs, letters, bad grouping and more than a million", () => {
    for (const typed of ["", "0", "000", "4500.50", "4500,5", "-4500", "+4500", "4k", "45,00", "1,000,001", "12e3"]) {
      expect(parseCashAmount(typed), typed).toBeNull();
    }
  });
});

describe("cashSubmission: the Idempotency-Key of a submission", () => {
  const keys = () => {
    let n = 0;
    return () => `key-${++n}`;
  };

  it("is fresh for every new submission", () => {
    const newKey = keys();
    const first = cashSubmission(null, cashEntry("JESH-42", 4500, ""), newKey);
    expect(first).toEqual({ key: "key-1", entry: { account: "JESH-42", amount: 4500, note: null } });
    expect(cashSubmission(null, cashEntry("JESH-42", 4500, ""), newKey).key).toBe("key-2");
  });

  it("is reused when the same entry is sent again after its answer was lost", () => {
    const newKey = keys();
    const lost = cashSubmission(null, cashEntry(" JESH-42 ", 4500, "book 17 "), newKey);
    expect(cashSubmission(lost, cashEntry("JESH-42", 4500, "book 17"), newKey)).toBe(lost);
  });

  it("is fresh when the operator changed the entry meanwhile", () => {
    const newKey = keys();
    const lost = cashSubmission(null, cashEntry("JESH-42", 4500, ""), newKey);
    expect(cashSubmission(lost, cashEntry("JESH-43", 4500, ""), newKey).key).toBe("key-2");
    expect(cashSubmission(lost, cashEntry("JESH-42", 4000, ""), newKey).key).toBe("key-3");
    expect(cashSubmission(lost, cashEntry("JESH-42", 4500, "book 18"), newKey).key).toBe("key-4");
  });

  it("keeps a cash movement's key when the same movement is sent again after a lost answer, not another", () => {
    let n = 0;
    const newKey = () => `key-${++n}`;
    const lost = cashSubmission(null, movementEntry("banked", 5000, " slip 10 ", ""), newKey);
    expect(cashSubmission(lost, movementEntry("banked", 5000, "slip 10", " "), newKey)).toBe(lost);
    expect(cashSubmission(lost, movementEntry("float", 5000, "slip 10", ""), newKey).key).toBe("key-2");
    expect(cashSubmission(lost, movementEntry("banked", 5000, "slip 11", ""), newKey).key).toBe("key-3");
  });

  it("makes keys payments accepts (visible ASCII, at most 100) that do not repeat", () => {
    const a = freshKey();
    expect(a).toMatch(/^[\x21-\x7e]{1,100}$/);
    expect(freshKey()).not.toBe(a);
  });
});

describe("answerLost", () => {
  it("is a network error or a gateway that may have passed it on", () => {
    for (const status of [0, 502, 504]) expect(answerLost(status), String(status)).toBe(true);
  });
  it("is not payments' own answer", () => {
    for (const status of [200, 201, 409, 422, 500, 503]) expect(answerLost(status), String(status)).toBe(false);
  });
});

describe("paidAccount", () => {
  it("names the booking a payment paid, whatever was typed", () => {
    expect(paidAccount({ booking_id: 42, invoice_id: null }, "jesh 042")).toBe("JESH-42");
  });
  it("names the invoice as typed, in capitals, not the rental's booking", () => {
    expect(paidAccount({ booking_id: 42, invoice_id: 123 }, " inv-000123 ")).toBe("INV-000123");
  });
});

describe("parseCountedAmount", () => {
  it("reads whole shillings, an empty drawer included", () => {
    expect(parseCountedAmount("0")).toBe(0);
    expect(parseCountedAmount(" 4,300 ")).toBe(4300);
    expect(parseCountedAmount("KES 100,000,000")).toBe(100_000_000);
  });
  it("refuses nothing, cents, signs, letters, bad grouping and more than a hundred million", () => {
    for (const typed of ["", "4300.50", "-200", "4k", "43,00", "100,000,001"]) {
      expect(parseCountedAmount(typed), typed).toBeNull();
    }
  });
});

describe("readCount", () => {
  it("is short by what is missing from the drawer", () => {
    expect(readCount({ difference: -200, expected: 4500 }, 4500)).toEqual({ outcome: "short", by: 200, bookChanged: false });
  });
  it("is over by what the drawer has too much", () => {
    expect(readCount({ difference: 150, expected: 4500 }, 4500)).toEqual({ outcome: "over", by: 150, bookChanged: false });
  });
  it("matches when nothing differs", () => {
    expect(readCount({ difference: 0, expected: 4500 }, 4500)).toEqual({ outcome: "matches", by: 0, bookChanged: false });
  });
  it("says the book changed when cash moved after the count, either way", () => {
    expect(readCount({ difference: 0, expected: 4500 }, 0).bookChanged).toBe(true);
    expect(readCount({ difference: -200, expected: 4500 }, 9000)).toEqual({ outcome: "short", by: 200, bookChanged: true });
  });
});

describe("parseMovementAmount", () => {
  it("reads whole shillings banked or put in", () => {
    expect(parseMovementAmount("1")).toBe(1);
    expect(parseMovementAmount(" 5,000 ")).toBe(5000);
    expect(parseMovementAmount("KES 100,000,000")).toBe(100_000_000);
  });
  it("refuses nothing, zero, cents, signs, letters, bad grouping and more than a hundred million", () => {
    for (const typed of ["", "0", "5000.50", "-5000", "+5000", "5k", "50,00", "100,000,001"]) {
      expect(parseMovementAmount(typed), typed).toBeNull();
    }
  });
});

describe("movementEntry", () => {
  it("trims the deposit slip and the note", () => {
    expect(movementEntry("banked", 5000, " DS-0042 ", " Equity, Moi Avenue ")).toEqual(
      { kind: "banked", amount: 5000, reference: "DS-0042", note: "Equity, Moi Avenue" });
  });
  it("sends blank ones as none", () => {
    expect(movementEntry("float", 2000, "  ", "")).toEqual({ kind: "float", amount: 2000, reference: null, note: null });
  });
});

describe("drawerChange and signedKES", () => {
  it("takes banked cash out of the drawer", () => {
    expect(drawerChange("banked", 5000)).toBe(-5000);
    expect(signedKES(drawerChange("banked", 5000))).toBe("-KES 5,000");
  });
  it("puts float into the drawer", () => {
    expect(drawerChange("float", 2000)).toBe(2000);
    expect(signedKES(drawerChange("float", 2000))).toBe("+KES 2,000");
  });
  it("gives nothing no sign", () => {
    expect(signedKES(0)).toBe("KES 0");
  });
  it("puts a banking's cash back into the drawer when it is reversed (its amount below 0)", () => {
    expect(drawerChange("banked", -4000)).toBe(4000);
    expect(signedKES(drawerChange("banked", -4000))).toBe("+KES 4,000");
  });
  it("takes a float back out of the drawer when it is reversed", () => {
    expect(drawerChange("float", -2000)).toBe(-2000);
    expect(signedKES(drawerChange("float", -2000))).toBe("-KES 2,000");
  });
  it("makes a movement and its reversal change nothing, day totals net of reversals included", () => {
    for (const kind of ["banked", "float"] as const) {
      expect(drawerChange(kind, 1500) + drawerChange(kind, -1500), kind).toBe(0);
      expect(Object.is(drawerChange(kind, 0), 0), kind).toBe(true); // not -0
      expect(signedKES(drawerChange(kind, 0)), kind).toBe("KES 0");
    }
    // Banked 5,000 today, less the reversal of a banking of 8,000 made yesterday: 3,000 came back.
    expect(signedKES(drawerChange("banked", 5000 - 8000))).toBe("+KES 3,000");
  });
});

describe("reversalReason", () => {
  it("is the reason trimmed, 3 to 200 characters", () => {
    expect(reversalReason(" typed 50,000 for 5,000 ")).toBe("typed 50,000 for 5,000");
    expect(reversalReason("abc")).toBe("abc");
    expect(reversalReason("x".repeat(200))).toBe("x".repeat(200));
    expect(reversalReason(`  ${"x".repeat(200)}  `)).toBe("x".repeat(200));
  });
  it("refuses none, a blank one, less than 3 characters once trimmed and more than 200", () => {
    for (const typed of ["", "   ", "ab", " ab ", "x".repeat(201)]) expect(reversalReason(typed), typed).toBeNull();
  });
});

describe("movementStanding", () => {
  it("reads a reversal, what it reverses", () => {
    expect(movementStanding({ reverses: 12, reversed_by: null })).toEqual({ is: "reversal", of: 12 });
  });
  it("reads a movement reversed, by which", () => {
    expect(movementStanding({ reverses: null, reversed_by: 14 })).toEqual({ is: "reversed", by: 14 });
  });
  it("leaves any other standing, to be reversed if it was a mistake", () => {
    expect(movementStanding({ reverses: null, reversed_by: null })).toEqual({ is: "standing" });
  });
});
