import { beforeEach, describe, expect, it, vi } from "vitest";

import { createSessionClient, memoryTokenStore, SessionApiError, type TokenStore } from "../src";
import { createFakeService, problemResponse, type FakeService } from "./fake-service";

const BASE = "http://127.0.0.1:9/";

let service: FakeService;
let store: TokenStore;

beforeEach(() => {
  service = createFakeService();
  store = memoryTokenStore();
});

function client(options: { getAccessToken?: () => Promise<string> } = {}) {
  return createSessionClient({ baseUrl: BASE, fetch: service.fetch, tokenStore: store, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<SessionApiError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SessionApiError);
  return error as SessionApiError;
}

describe("createSession", () => {
  it("exchanges the access token as a Bearer token and stores the session token", async () => {
    const session = await client().createSession("at-alice", { tenant_id: "20000000-0000-4000-8000-000000000001" });

    expect(service.requests).toHaveLength(1);
    const [create] = service.requests;
    expect(create).toMatchObject({
      method: "POST",
      path: "/api/sessions/create/",
      authorization: "Bearer at-alice",
      contentType: "application/json",
      body: { tenant_id: "20000000-0000-4000-8000-000000000001" },
    });
    expect(session.user.auth0_sub).toBe("auth0|at-alice");
    expect(session.tenant?.id).toBe("20000000-0000-4000-8000-000000000001");
    expect(await store.get()).toMatch(/^sst_/);
  });

  it("sends the stored token as `Session <token>` afterwards", async () => {
    const api = client();
    await api.createSession("at-alice");
    const token = await store.get();

    const session = await api.current();

    expect(service.requests[1]).toMatchObject({ method: "GET", path: "/api/sessions/current/", authorization: `Session ${token}` });
    expect(session.needs_onboarding).toBe(true);
  });

  it("makes one request for two simultaneous calls", async () => {
    const api = client();
    const [first, second] = await Promise.all([api.createSession("at-alice"), api.createSession("at-alice")]);

    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(second.id).toBe(first.id);
  });

  it("does not retry a refused access token", async () => {
    const getAccessToken = vi.fn(async () => "at-other");
    const error = await rejection(client({ getAccessToken }).createSession("forged"));

    expect(error).toMatchObject({ status: 401, code: "token_invalid" });
    expect(getAccessToken).not.toHaveBeenCalled();
    expect(await store.get()).toBeNull();
  });
});

describe("errors", () => {
  it("turns problem details into a SessionApiError with status, code and field errors", async () => {
    const api = client();
    await api.createSession("at-alice");

    const error = await rejection(api.update({ needs_onboarding: "yes" as unknown as boolean }));

    expect(error).toMatchObject({ status: 400, code: "validation_error", title: "validation_error" });
    expect(error.errors).toEqual({ needs_onboarding: ["Must be a boolean."] });
    expect(error.isSessionLost).toBe(false);
  });

  it("reads Retry-After on rate limiting", async () => {
    service.intercept(() => problemResponse({ status: 429, code: "rate_limited" }, { "Retry-After": "17" }));

    const error = await rejection(client().createSession("at-alice"));

    expect(error).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 17 });
  });

  it("keeps the status of an answer that is not problem details", async () => {
    service.intercept(() => new Response("<h1>Bad gateway</h1>", { status: 502, headers: { "Content-Type": "text/html" } }));

    const error = await rejection(client().createSession("at-alice"));

    expect(error).toMatchObject({ status: 502, code: "unexpected_response" });
  });

  it("reports an unreachable service as network_error", async () => {
    const api = createSessionClient({
      baseUrl: BASE,
      tokenStore: store,
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    });

    const error = await rejection(api.createSession("at-alice"));

    expect(error).toMatchObject({ status: 0, code: "network_error" });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("refuses a call without a stored token before touching the network", async () => {
    const error = await rejection(client().current());

    expect(error).toMatchObject({ status: 401, code: "session_missing" });
    expect(service.requests).toHaveLength(0);
  });
});

describe("update", () => {
  it("patches /current and sends If-Match with the last ETag when asked", async () => {
    const api = client();
    await api.createSession("at-alice");
    await api.current();
    const etag = api.lastETag();
    expect(etag).toBeTruthy();

    const session = await api.update({ needs_onboarding: false, onboarding_completed: true }, { ifMatch: true });

    const patch = service.requests.at(-1);
    expect(patch).toMatchObject({ method: "PATCH", path: "/api/sessions/current/", ifMatch: etag });
    expect(patch?.body).toEqual({ needs_onboarding: false, onboarding_completed: true });
    expect(session).toMatchObject({ needs_onboarding: false, onboarding_completed: true });
    expect(api.lastETag()).not.toBe(etag);
  });

  it("sends no If-Match unless asked", async () => {
    const api = client();
    await api.createSession("at-alice");
    await api.current();

    await api.update({ data: { step: 2 } });

    expect(service.requests.at(-1)?.ifMatch).toBeNull();
  });

  it("surfaces 412 when the session changed elsewhere since it was read", async () => {
    const api = client();
    await api.createSession("at-alice");
    await api.current();
    service.touch((await store.get())!);

    const error = await rejection(api.update({ data: { step: 3 } }, { ifMatch: true }));

    expect(error.status).toBe(412);
  });
});

describe("lost sessions", () => {
  it("creates a new session with getAccessToken once and retries the call", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    await api.createSession("at-alice");
    const oldToken = await store.get();
    service.expireAll();

    const session = await api.current();

    expect(getAccessToken).toHaveBeenCalledTimes(1);
    expect(service.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /api/sessions/create/",
      "GET /api/sessions/current/",
      "POST /api/sessions/create/",
      "GET /api/sessions/current/",
    ]);
    const newToken = await store.get();
    expect(newToken).not.toBe(oldToken);
    expect(service.requests.at(-1)?.authorization).toBe(`Session ${newToken}`);
    expect(service.isLive(newToken!)).toBe(true);
    expect(session.id).not.toBe("");
  });

  it("drops the stale If-Match when retrying an update on a new session", async () => {
    const api = client({ getAccessToken: async () => "at-alice" });
    await api.createSession("at-alice");
    await api.current();
    service.expireAll();

    const session = await api.update({ onboarding_completed: true }, { ifMatch: true });

    expect(session.onboarding_completed).toBe(true);
    const patches = service.requests.filter((r) => r.method === "PATCH");
    expect(patches).toHaveLength(2);
    expect(patches[0]?.ifMatch).toBeTruthy();
    expect(patches[1]?.ifMatch).toBeNull();
  });

  it("gives up after one new session when the service keeps refusing it", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    await api.createSession("at-alice");
    service.intercept((request) =>
      request.method === "GET" ? problemResponse({ status: 401, code: "session_expired" }) : undefined,
    );

    const error = await rejection(api.current());

    expect(error).toMatchObject({ status: 401, code: "session_expired" });
    expect(getAccessToken).toHaveBeenCalledTimes(1);
    expect(service.count("GET", "/api/sessions/current/")).toBe(2);
  });

  it("gives up with the session error and forgets the token when no new access token comes", async () => {
    const refusal = new Error("login_required");
    const api = client({ getAccessToken: vi.fn(async () => Promise.reject(refusal)) });
    await api.createSession("at-alice");
    const seen = vi.fn();
    api.subscribe(seen);
    service.expireAll();

    const error = await rejection(api.current());

    expect(error).toMatchObject({ status: 401, code: "session_revoked" });
    expect(error.cause).toBe(refusal);
    expect(await store.get()).toBeNull();
    expect(seen).toHaveBeenLastCalledWith(null);
  });

  it("forgets the token and rethrows without getAccessToken", async () => {
    const api = client();
    await api.createSession("at-alice");
    service.expireAll();

    const error = await rejection(api.current());

    expect(error.isSessionLost).toBe(true);
    expect(await store.get()).toBeNull();
    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
  });

  it("renews once for several calls that fail at the same time", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    await api.createSession("at-alice");
    service.expireAll();

    await Promise.all([api.current(), api.update({ data: { a: 1 } }), api.listSessions()]);

    expect(getAccessToken).toHaveBeenCalledTimes(1);
    expect(service.count("POST", "/api/sessions/create/")).toBe(2);
  });
});

describe("refresh", () => {
  it("rotates the token; calls made meanwhile use the new one", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    const created = await api.createSession("at-alice");
    const oldToken = (await store.get())!;

    const [refreshed, current] = await Promise.all([api.refresh(), api.current()]);

    const newToken = (await store.get())!;
    expect(newToken).not.toBe(oldToken);
    expect(service.isLive(oldToken)).toBe(false);
    expect(refreshed.id).toBe(created.id);
    expect(current.id).toBe(created.id);
    // The read waited for the rotation rather than spending a round trip on the dead token.
    expect(service.count("GET", "/api/sessions/current/")).toBe(1);
    expect(service.requests.at(-1)).toMatchObject({ method: "GET", authorization: `Session ${newToken}` });
    expect(getAccessToken).not.toHaveBeenCalled();
  });

  it("keeps the ETag: the rotated token names the same session", async () => {
    const api = client();
    await api.createSession("at-alice");
    await api.current();
    const etag = api.lastETag();

    await api.refresh();
    await api.update({ data: { after: "refresh" } }, { ifMatch: true });

    expect(service.requests.at(-1)?.ifMatch).toBe(etag);
  });

  it("makes one rotation for two simultaneous calls", async () => {
    const api = client();
    await api.createSession("at-alice");

    await Promise.all([api.refresh(), api.refresh()]);

    expect(service.count("POST", "/api/sessions/refresh/")).toBe(1);
  });

  it("replaces a lost session instead of waiting on itself", async () => {
    const api = client({ getAccessToken: async () => "at-alice" });
    await api.createSession("at-alice");
    service.expireAll();

    const session = await api.refresh();

    expect(service.isLive((await store.get())!)).toBe(true);
    expect(session.user.auth0_sub).toBe("auth0|at-alice");
  });
});

describe("logout", () => {
  it("deletes /current, forgets the token and tells subscribers", async () => {
    const api = client();
    await api.createSession("at-alice");
    const token = (await store.get())!;
    const seen = vi.fn();
    api.subscribe(seen);

    await api.logout();

    expect(service.requests.at(-1)).toMatchObject({ method: "DELETE", path: "/api/sessions/current/", authorization: `Session ${token}` });
    expect(service.isLive(token)).toBe(false);
    expect(await store.get()).toBeNull();
    expect(seen).toHaveBeenCalledWith(null);
  });

  it("succeeds when the session had already ended, without creating one", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    await api.createSession("at-alice");
    service.expireAll();

    await api.logout();

    expect(getAccessToken).not.toHaveBeenCalled();
    expect(await store.get()).toBeNull();
  });

  it("forgets the token but reports a failure it cannot vouch for", async () => {
    const api = client();
    await api.createSession("at-alice");
    service.intercept(() => problemResponse({ status: 503, code: "store_unavailable" }));

    const error = await rejection(api.logout());

    expect(error.code).toBe("store_unavailable");
    expect(await store.get()).toBeNull();
  });
});

describe("other sessions", () => {
  it("lists, revokes one and logs out the others", async () => {
    const api = client();
    await api.createSession("at-alice");

    const sessions = await api.listSessions();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.current).toBe(true);

    const revoked = await api.logoutAll();
    expect(revoked).toBe(0);
    expect(service.requests.at(-1)?.body).toEqual({ include_current: false });
    expect(await store.get()).not.toBeNull();

    await api.revokeSession(sessions[0]!.id);
    expect(service.requests.at(-1)).toMatchObject({ method: "DELETE", path: `/api/sessions/${sessions[0]!.id}/` });
  });
});

describe("restore", () => {
  it("answers null without a request when nothing is stored", async () => {
    expect(await client().restore()).toBeNull();
    expect(service.requests).toHaveLength(0);
  });

  it("creates a session when asked to and able to", async () => {
    const session = await client({ getAccessToken: async () => "at-alice" }).restore({ autoCreate: true });

    expect(session?.user.auth0_sub).toBe("auth0|at-alice");
    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
  });

  it("answers null for a stored session the service no longer knows", async () => {
    store = memoryTokenStore(`sst_${"y".repeat(43)}`);

    expect(await client().restore()).toBeNull();
    expect(await store.get()).toBeNull();
  });
});
