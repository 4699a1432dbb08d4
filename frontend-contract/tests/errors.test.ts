import { describe, expect, it } from "vitest";

import { errorFromResponse, SessionApiError } from "../src/errors";

const problem = (status: number, code: string) => ({ type: "about:blank", title: code, status, detail: `${code}!`, code });

describe("errorFromResponse", () => {
  it("takes the status from the response and the rest from the body", () => {
    const error = errorFromResponse(problem(401, "session_expired"), new Response(null, { status: 401 }));

    expect(error).toBeInstanceOf(SessionApiError);
    expect(error).toMatchObject({ status: 401, code: "session_expired", detail: "session_expired!", message: "session_expired!" });
    expect(error.isSessionLost).toBe(true);
  });

  it("counts only a 401 with a session code as a lost session", () => {
    const response = (status: number) => new Response(null, { status });
    expect(errorFromResponse(problem(401, "token_expired"), response(401)).isSessionLost).toBe(false);
    expect(errorFromResponse(problem(503, "store_unavailable"), response(503)).isSessionLost).toBe(false);
    expect(errorFromResponse(problem(401, "session_invalid"), response(401)).isSessionLost).toBe(true);
  });

  it("reads Retry-After given as an HTTP date", () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    const response = new Response(null, { status: 429, headers: { "Retry-After": "Mon, 23 Nov 2026 12:00:30 GMT" } });

    expect(errorFromResponse(problem(429, "rate_limited"), response, now).retryAfter).toBe(30);
  });

  it("ignores an unreadable Retry-After", () => {
    const response = new Response(null, { status: 429, headers: { "Retry-After": "soon" } });

    expect(errorFromResponse(problem(429, "rate_limited"), response).retryAfter).toBeUndefined();
  });
});
