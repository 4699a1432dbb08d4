import { beforeEach, describe, expect, it, vi } from "vitest";

import { createSessionClient, memoryTokenStore, SessionApiError, type SessionClientOptions, type TokenStore } from "../src";
import { createFakeService, problemResponse, type FakeService } from "./fake-service";

const BASE = "http://127.0.0.1:9/";

let service: FakeService;
let store: TokenStore;

beforeEach(() => {
  service = createFakeService();
  store = memoryTokenStore();
});

function client(options: Partial<SessionClientOptions> = {}) {
  return createSessionClient({ baseUrl: BASE, fetch: service.fetch, tokenStore: store, tabs: null, locks: null, ...options });
}

const TENANT = "20000000-0000-4000-8000-000000000001";

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

  it("makes one request for two simultaneous calls with the same access token", async () => {
    const api = client();
    const [first, second] = await Promise.all([api.createSession("at-alice"), api.createSession("at-alice")]);

    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(second.id).toBe(first.id);
  });

  it("never answers a create with the session of another access token in flight", async () => {
    const api = client();
    const [alice, bob] = await Promise.all([api.createSession("at-alice"), api.createSession("at-bob")]);

    expect(service.count("POST", "/api/sessions/create/")).toBe(2);
    expect(alice.user.auth0_sub).toBe("auth0|at-alice");
    expect(bob.user.auth0_sub).toBe("auth0|at-bob");
  });

  it("keeps the ETag of the create, so the first write can use If-Match", async () => {
    const api = client();
    await api.createSession("at-alice");
    const etag = api.lastETag();
    expect(etag).toMatch(/^"/);

    await api.update({ onboarding_completed: true }, { ifMatch: true });

    expect(service.requests.at(-1)).toMatchObject({ method: "PATCH", ifMatch: etag });
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


describe("a lost session", () => {
  it.each([
    ["logout elsewhere", (s: FakeService) => s.revokeAll()],
    ["sign out all other devices", (s: FakeService) => s.revokeAll()],
    ["an admin revoke or back-channel logout", (s: FakeService) => s.intercept((r) => (r.method === "GET" ? problemResponse({ status: 401, code: "session_revoked" }) : undefined))],
    ["a token the service does not know", (s: FakeService) => s.intercept((r) => (r.method === "GET" ? problemResponse({ status: 401, code: "session_invalid" }) : undefined))],
  ])("after %s is final: signed out, no new session, not even on the next call", async (_, revoke) => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    await api.createSession("at-alice");
    const seen = vi.fn();
    api.subscribe(seen);
    revoke(service);

    const error = await rejection(api.current());
    const next = await rejection(api.update({ data: { later: true } }));

    expect(error.code).toMatch(/^session_(revoked|invalid)$/);
    expect(next.code).toBe("session_missing");
    expect(getAccessToken).not.toHaveBeenCalled();
    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(await store.get()).toBeNull();
    expect(seen).toHaveBeenLastCalledWith(null);
    expect(api.session()).toBeNull();
  });

  it("that expired is renewed through getAccessToken once, and the call retried", async () => {
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
    expect(session.user.auth0_sub).toBe("auth0|at-alice");
    expect(api.session()?.id).toBe(session.id);
  });

  it("renewed keeps the tenant and the data of the session it replaces", async () => {
    const api = client({ getAccessToken: async () => "at-alice" });
    await api.createSession("at-alice", { tenant_id: TENANT });
    await api.update({ data: { cart: [1, 2] } });
    service.expireAll();

    const session = await api.current();

    const creates = service.requests.filter((r) => r.path === "/api/sessions/create/");
    expect(creates.at(-1)?.body).toEqual({ tenant_id: TENANT });
    expect(session.tenant?.id).toBe(TENANT);
    expect(session.data).toEqual({ cart: [1, 2] });
  });

  it("is renewed only when renew(error) allows it", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const renew = vi.fn(() => false);
    const api = client({ getAccessToken, renew });
    await api.createSession("at-alice");
    service.expireAll();

    const error = await rejection(api.current());

    expect(error.code).toBe("session_expired");
    expect(renew).toHaveBeenCalledWith(error);
    expect(getAccessToken).not.toHaveBeenCalled();
    expect(await store.get()).toBeNull();
  });

  it("drops the stale If-Match when retrying an update on a renewed session", async () => {
    const api = client({ getAccessToken: async () => "at-alice" });
    await api.createSession("at-alice");
    service.expireAll();

    const session = await api.update({ onboarding_completed: true }, { ifMatch: true });

    expect(session.onboarding_completed).toBe(true);
    const patches = service.requests.filter((r) => r.method === "PATCH");
    expect(patches).toHaveLength(2);
    expect(patches[0]?.ifMatch).toBeTruthy();
    expect(patches[1]?.ifMatch).toBeNull();
  });

  it("gives up after one renewal when the service keeps refusing it", async () => {
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

  it("signs out with the session error when no new access token comes", async () => {
    const refusal = new Error("login_required");
    const api = client({ getAccessToken: vi.fn(async () => Promise.reject(refusal)) });
    await api.createSession("at-alice");
    service.expireAll();

    const error = await rejection(api.current());

    expect(error).toMatchObject({ status: 401, code: "session_expired" });
    expect(error.cause).toBe(refusal);
    expect(await store.get()).toBeNull();
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

  it("drops a response that lands after logout(): nothing is published", async () => {
    const api = client();
    await api.createSession("at-alice");
    const seen = vi.fn();
    api.subscribe(seen);
    const release = service.hold((r) => r.method === "PATCH");

    const update = api.update({ data: { late: true } });
    await vi.waitFor(() => expect(service.count("PATCH", "/api/sessions/current/")).toBe(1));
    await api.logout();
    release();
    await update.catch(() => undefined);

    expect(seen.mock.calls).toEqual([[null]]);
    expect(api.session()).toBeNull();
    expect(await store.get()).toBeNull();
  });

  it("a call in flight that gets a 401 after logout() does not sign back in", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    await api.createSession("at-alice");
    const release = service.hold((r) => r.method === "GET");

    const read = api.current();
    await vi.waitFor(() => expect(service.count("GET", "/api/sessions/current/")).toBe(1));
    await api.logout();
    release();
    const error = await rejection(read);

    expect(error.isSessionLost).toBe(true);
    expect(getAccessToken).not.toHaveBeenCalled();
    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(await store.get()).toBeNull();
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

  it("signs out but reports a failure it cannot vouch for", async () => {
    const api = client();
    await api.createSession("at-alice");
    service.intercept(() => problemResponse({ status: 503, code: "store_unavailable" }));

    const error = await rejection(api.logout());

    expect(error.code).toBe("store_unavailable");
    expect(await store.get()).toBeNull();
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

  it("waits for a create that is running, then rotates the new session", async () => {
    const api = client();
    await api.createSession("at-alice");
    const release = service.hold((r) => r.path === "/api/sessions/create/" && r.authorization === "Bearer at-bob");

    const bob = api.createSession("at-bob");
    await vi.waitFor(() => expect(service.count("POST", "/api/sessions/create/")).toBe(2));
    const refreshed = api.refresh();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(service.count("POST", "/api/sessions/refresh/")).toBe(0);
    release();

    const session = await refreshed;
    expect(session.id).toBe((await bob).id);
    expect(session.user.auth0_sub).toBe("auth0|at-bob");
  });

  it("uses the ETag of the refresh answer: a change made since the create is not a conflict", async () => {
    const api = client();
    const created = await api.createSession("at-alice");
    const fromCreate = api.lastETag();
    service.touch((await store.get())!);

    await api.refresh();
    const session = await api.update({ data: { after: "refresh" } }, { ifMatch: true });

    expect(service.requests.at(-1)?.ifMatch).toBe(`"${created.id}-1"`);
    expect(fromCreate).toBe(`"${created.id}-0"`);
    expect(session.data).toEqual({ after: "refresh" });
  });

  it("makes one rotation for two simultaneous calls", async () => {
    const api = client();
    await api.createSession("at-alice");

    await Promise.all([api.refresh(), api.refresh()]);

    expect(service.count("POST", "/api/sessions/refresh/")).toBe(1);
  });

  it("drops a read that started before the rotation", async () => {
    const api = client();
    await api.createSession("at-alice");
    const seen = vi.fn();
    api.subscribe(seen);
    const release = service.hold((r) => r.method === "GET");

    const read = api.current();
    await vi.waitFor(() => expect(service.count("GET", "/api/sessions/current/")).toBe(1));
    const rotated = await api.refresh();
    service.intercept((r) => (r.method === "GET" ? new Response(JSON.stringify({ ...rotated, data: { stale: true } }), { status: 200, headers: { "Content-Type": "application/json" } }) : undefined));
    release();
    await read;

    expect(seen.mock.calls.map(([s]) => (s as { data: unknown } | null)?.data)).toEqual([{}]);
    expect(api.session()?.data).toEqual({});
  });

  it("takes the lock, so tabs sharing the token rotate one after the other", async () => {
    const order: string[] = [];
    let queue = Promise.resolve();
    const locks = {
      request<T>(name: string, callback: () => Promise<T>): Promise<T> {
        order.push(name);
        const run = queue.then(callback);
        queue = run.then(() => undefined, () => undefined);
        return run;
      },
    };
    const first = client({ locks });
    const second = client({ locks });
    await first.createSession("at-alice");

    await Promise.all([first.refresh(), second.refresh()]);

    expect(order).toEqual(["session-service.refresh", "session-service.refresh"]);
    const refreshes = service.requests.filter((r) => r.path === "/api/sessions/refresh/");
    expect(refreshes).toHaveLength(2);
    expect(refreshes[1]?.authorization).not.toBe(refreshes[0]?.authorization);
    expect(service.isLive((await store.get())!)).toBe(true);
  });
});

describe("tabs sharing one token", () => {
  it("renew an expired session once: the second tab takes the first one's new session", async () => {
    let queue = Promise.resolve();
    const locks = {
      request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
        const run = queue.then(callback);
        queue = run.then(() => undefined, () => undefined);
        return run;
      },
    };
    const getAccessToken = vi.fn(async () => "at-alice");
    const first = client({ locks, getAccessToken });
    const second = client({ locks, getAccessToken });
    await first.createSession("at-alice");
    service.expireAll();

    const [one, two] = await Promise.all([first.current(), second.current()]);

    expect(service.count("POST", "/api/sessions/create/")).toBe(2);
    expect(getAccessToken).toHaveBeenCalledTimes(1);
    expect(two.id).toBe(one.id);
    expect(service.isLive((await store.get())!)).toBe(true);
  });
});

describe("other sessions", () => {
  it("lists, signs out the others and revokes one", async () => {
    const api = client();
    const other = createSessionClient({ baseUrl: BASE, fetch: service.fetch, tabs: null, locks: null });
    await other.createSession("at-alice");
    await api.createSession("at-alice");

    const sessions = await api.listSessions();
    expect(sessions.map((s) => s.current).sort()).toEqual([false, true]);

    const revoked = await api.logoutAll();
    expect(revoked).toBe(1);
    expect(service.requests.at(-1)?.body).toEqual({ include_current: false });
    expect(await store.get()).not.toBeNull();
    expect((await rejection(other.current())).code).toBe("session_revoked");

    const mine = (await api.listSessions())[0]!;
    await api.revokeSession(mine.id);
    expect(service.requests.at(-1)).toMatchObject({ method: "DELETE", path: `/api/sessions/${mine.id}/` });
    expect(await store.get()).toBeNull();
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

  it("with autoCreate off, signs out on a stale stored token instead of creating one", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    await client().createSession("at-alice");
    service.expireAll();

    expect(await client({ getAccessToken }).restore({ autoCreate: false })).toBeNull();
    expect(getAccessToken).not.toHaveBeenCalled();
    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(await store.get()).toBeNull();
  });

  it("with autoCreate on, renews a stale stored token", async () => {
    await client().createSession("at-alice");
    service.expireAll();

    const session = await client({ getAccessToken: async () => "at-alice" }).restore({ autoCreate: true });

    expect(session?.user.auth0_sub).toBe("auth0|at-alice");
    expect(service.isLive((await store.get())!)).toBe(true);
  });
});
