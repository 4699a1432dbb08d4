import { beforeEach, describe, expect, it, vi } from "vitest";

import { createSessionClient, memoryTokenStore, type SessionClientOptions, type TokenStore } from "../src";
import { createFakeService, type FakeService } from "./fake-service";

let service: FakeService;
let store: TokenStore;

beforeEach(() => {
  service = createFakeService();
  store = memoryTokenStore();
});

function client(options: Partial<SessionClientOptions> = {}) {
  return createSessionClient({ baseUrl: "http://127.0.0.1:9/", fetch: service.fetch, tokenStore: store, tabs: null, locks: null, ...options });
}

async function listening(options: Partial<SessionClientOptions> = {}) {
  const api = client(options);
  await api.createSession("at-alice");
  const stop = api.listen();
  await vi.waitFor(() => expect(service.streams).toHaveLength(1));
  return { api, stop, stream: service.streams[0]! };
}

describe("listen()", () => {
  it("opens the event stream with the session token", async () => {
    const { stop, stream } = await listening();

    expect(service.requests.at(-1)).toMatchObject({ method: "GET", path: "/api/sessions/events/", authorization: `Session ${await store.get()}` });
    expect(stream.token).toBe(await store.get());
    stop();
  });

  it("publishes session.updated at once, then reads the ETag for the next If-Match", async () => {
    const { api, stop, stream } = await listening();
    const seen = vi.fn();
    api.subscribe(seen);
    const session = { ...api.session()!, onboarding_completed: true };
    service.sessionOf(stream.token)!.onboarding_completed = true;
    service.touch(stream.token);

    stream.comment("heartbeat");
    stream.send("session.updated", session);

    await vi.waitFor(() => expect(seen).toHaveBeenCalledWith(expect.objectContaining({ onboarding_completed: true })));
    await vi.waitFor(() => expect(api.lastETag()).toBe(`"${session.id}-1"`));
    stop();
  });

  it("signs out for good on session.revoked, and stops listening", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const { api, stream } = await listening({ getAccessToken });

    stream.send("session.revoked", { reason: "others" });
    stream.end();

    await vi.waitFor(() => expect(api.session()).toBeNull());
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.get()).toBeNull();
    expect(getAccessToken).not.toHaveBeenCalled();
    expect(service.streams).toHaveLength(1);
  });

  it("goes through renewal on session.expired, then follows the new session", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const { api, stop, stream } = await listening({ getAccessToken });
    const before = api.session()!.id;
    service.expireAll();

    stream.send("session.expired");
    stream.end();

    await vi.waitFor(() => expect(service.streams).toHaveLength(2));
    expect(api.session()?.id).not.toBe(before);
    expect(service.streams[1]!.token).toBe(await store.get());
    expect(getAccessToken).toHaveBeenCalledTimes(1);
    stop();
  });

  it("reconnects with the new token after a rotation", async () => {
    const { api, stop, stream } = await listening();

    await api.refresh();
    stream.send("session.rotated");
    stream.end();

    await vi.waitFor(() => expect(service.streams).toHaveLength(2));
    expect(service.streams[1]!.token).toBe(await store.get());
    expect(service.streams[1]!.token).not.toBe(stream.token);
    stop();
  });

  it("a stream refused as revoked signs out, without a new session", async () => {
    const getAccessToken = vi.fn(async () => "at-alice");
    const api = client({ getAccessToken });
    await api.createSession("at-alice");
    service.revokeAll();

    api.listen();

    await vi.waitFor(() => expect(api.session()).toBeNull());
    expect(getAccessToken).not.toHaveBeenCalled();
    expect(service.count("GET", "/api/sessions/events/")).toBe(1);
  });

  it("stops when asked: no reconnect after the stream ends", async () => {
    const { stop, stream } = await listening();

    stop();
    stream.end();
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(service.count("GET", "/api/sessions/events/")).toBe(1);
  });
});
