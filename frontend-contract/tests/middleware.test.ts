import createClient from "openapi-fetch";
import { beforeEach, describe, expect, it, vi } from "vitest";

import { createSessionClient, memoryTokenStore, sessionMiddleware, type paths, type TokenStore } from "../src";
import { createFakeService, type FakeService } from "./fake-service";

const BASE = "http://127.0.0.1:9";

let service: FakeService;
let store: TokenStore;

beforeEach(() => {
  service = createFakeService();
  store = memoryTokenStore();
});

/** A host app's own generated client, as it would build it, plus the session client. */
function setup(getAccessToken?: () => Promise<string>) {
  const sessions = createSessionClient({ baseUrl: BASE, fetch: service.fetch, tokenStore: store, tabs: null, locks: null, getAccessToken });
  const host = createClient<paths>({ baseUrl: BASE, fetch: service.fetch });
  host.use(sessionMiddleware(sessions, { fetch: service.fetch }));
  return { sessions, host };
}

describe("sessionMiddleware", () => {
  it("sends the session token on the host's own requests", async () => {
    const { sessions, host } = setup();
    await sessions.createSession("at-alice");

    const { data, response } = await host.GET("/api/sessions/");

    expect(response.status).toBe(200);
    expect(data).toHaveLength(1);
    expect(service.requests.at(-1)?.authorization).toBe(`Session ${await store.get()}`);
  });

  it("waits for a running rotation and sends the new token", async () => {
    const { sessions, host } = setup();
    await sessions.createSession("at-alice");
    const old = await store.get();

    const [, { response }] = await Promise.all([sessions.refresh(), host.GET("/api/sessions/current/")]);

    expect(response.status).toBe(200);
    const read = service.requests.filter((r) => r.method === "GET");
    expect(read).toHaveLength(1);
    expect(read[0]?.authorization).not.toBe(`Session ${old}`);
  });

  it("on a revoked session signs out and hands the 401 back, without a new session", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const { sessions, host } = setup(getAccessToken);
    await sessions.createSession("at-alice");
    service.revokeAll();

    const { error, response } = await host.GET("/api/sessions/current/");

    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: "session_revoked" });
    expect(sessions.session()).toBeNull();
    expect(getAccessToken).not.toHaveBeenCalled();
  });

  it("on an expired session renews it and retries the request once, without the old If-Match", async () => {
    const { sessions, host } = setup(async () => "at-alice");
    await sessions.createSession("at-alice");
    service.expireAll();

    const { data, response } = await host.PATCH("/api/sessions/current/", {
      headers: { "If-Match": sessions.lastETag()! },
      body: { onboarding_completed: true },
    });

    expect(response.status).toBe(200);
    expect(data?.onboarding_completed).toBe(true);
    const patches = service.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((p) => p.ifMatch === null)).toEqual([false, true]);
    expect(patches[1]?.body).toEqual({ onboarding_completed: true });
    expect(patches[1]?.authorization).toBe(`Session ${await store.get()}`);
  });

  it("sends nothing when signed out", async () => {
    const { host } = setup();

    const { response } = await host.GET("/api/sessions/current/");

    expect(response.status).toBe(401);
    expect(service.requests.at(-1)?.authorization).toBeNull();
  });
});
