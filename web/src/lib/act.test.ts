import { describe, expect, it } from "vitest";
import { act } from "./act";

describe("act", () => {
  it("gives the data of an answer", async () => {
    const answer = await act(async () => ({ data: { id: 7 }, response: new Response(null, { status: 200 }) }));
    expect(answer).toEqual({ data: { id: 7 } });
  });

  it("gives the server's error with its status", async () => {
    const answer = await act(async () => ({
      error: { success: false, message: "Refund is paid, not awaiting approval" }, response: new Response(null, { status: 409 }),
    }));
    expect(answer).toEqual({ error: { message: "Refund is paid, not awaiting approval", errors: undefined, status: 409 } });
  });

  it("turns a request that got no answer into a network error instead of a rejection", async () => {
    const answer = await act(() => Promise.reject(new TypeError("Failed to fetch")));
    expect(answer).toEqual({ error: { message: "", status: 0 } });
  });
});
