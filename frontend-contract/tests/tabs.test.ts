// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from "vitest";

import {
  broadcastChannel,
  createSessionClient,
  memoryTokenStore,
  storageEventChannel,
  type SessionClient,
  type TabChannel,
  type TabMessage,
  type TokenStore,
} from "../src";
import { createFakeService, type FakeService } from "./fake-service";

const BASE = "http://127.0.0.1:9/";

/** The tabs of one origin: a message reaches every tab but the one that posted it. */
function createOrigin() {
  const tabs = new Set<(message: TabMessage) => void>();
  const sent: TabMessage[] = [];
  return {
    sent,
    channel(): TabChannel {
      let own: ((message: TabMessage) => void) | null = null;
      return {
        post(message) {
          sent.push(message);
          const copy = structuredClone(message);
          for (const listener of tabs) if (listener !== own) queueMicrotask(() => listener(copy));
        },
        subscribe(listener) {
          own = listener;
          tabs.add(listener);
          return () => tabs.delete(listener);
        },
      };
    },
  };
}

let service: FakeService;
let origin: ReturnType<typeof createOrigin>;

beforeEach(() => {
  service = createFakeService();
  origin = createOrigin();
});

function tab(store: TokenStore, options: { getAccessToken?: () => Promise<string> } = {}): SessionClient {
  return createSessionClient({ baseUrl: BASE, fetch: service.fetch, tokenStore: store, tabs: origin.channel(), locks: null, ...options });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("tabs sharing one stored token (localStorage)", () => {
  it("a sign-in in one tab signs the other in", async () => {
    const shared = memoryTokenStore();
    const first = tab(shared);
    const second = tab(shared);
    const seen = vi.fn();
    second.subscribe(seen);

    const session = await first.createSession("at-alice");
    await settle();

    expect(second.session()?.id).toBe(session.id);
    expect(seen).toHaveBeenCalledWith(session);
    expect(second.lastETag()).toBe(first.lastETag());
  });

  it("a logout in one tab signs the other out, with no call of its own", async () => {
    const shared = memoryTokenStore();
    const first = tab(shared);
    const getAccessToken = vi.fn(async () => "at-alice");
    const second = tab(shared, { getAccessToken });
    await first.createSession("at-alice");
    await settle();

    await first.logout();
    await settle();

    expect(second.session()).toBeNull();
    expect(service.count("DELETE", "/api/sessions/current/")).toBe(1);
    await expect(second.current()).rejects.toMatchObject({ code: "session_missing" });
    expect(getAccessToken).not.toHaveBeenCalled();
  });

  it("a rotation in one tab reaches the other, which keeps working on the new token", async () => {
    const shared = memoryTokenStore();
    const first = tab(shared);
    const second = tab(shared);
    await first.createSession("at-alice");
    await settle();

    await first.refresh();
    await settle();
    await second.current();

    expect(origin.sent.map((m) => m.type)).toContain("rotated");
    expect(service.requests.at(-1)?.authorization).toBe(`Session ${await shared.get()}`);
    expect(second.session()).not.toBeNull();
  });

  it("a change made in one tab is shown in the other, with its ETag", async () => {
    const shared = memoryTokenStore();
    const first = tab(shared);
    const second = tab(shared);
    await first.createSession("at-alice");
    await settle();

    await first.update({ data: { theme: "dark" } });
    await settle();

    expect(second.session()?.data).toEqual({ theme: "dark" });
    const etag = first.lastETag();
    expect(second.lastETag()).toBe(etag);
    await second.update({ data: { theme: "light" } }, { ifMatch: true });
    expect(service.requests.at(-1)?.ifMatch).toBe(etag);
  });

  it("a revocation seen by one tab signs the other out", async () => {
    const shared = memoryTokenStore();
    const first = tab(shared);
    const second = tab(shared);
    await first.createSession("at-alice");
    await settle();
    service.revokeAll();

    await first.current().catch(() => undefined);
    await settle();

    expect(second.session()).toBeNull();
    expect(origin.sent.at(-1)).toMatchObject({ type: "signed-out", reason: "revoked" });
  });
});

describe("tabs with a store each (sessionStorage)", () => {
  it("a duplicated tab follows the other's rotation instead of keeping a dead token", async () => {
    const original = memoryTokenStore();
    const first = tab(original);
    await first.createSession("at-alice");
    const duplicate = memoryTokenStore(await original.get());
    const second = tab(duplicate);

    await first.refresh();
    await settle();

    expect(await duplicate.get()).toBe(await original.get());
    const session = await second.current();
    expect(session.id).toBe(first.session()?.id);
  });

  it("a logout in one tab ends the other tab's own session too", async () => {
    const first = tab(memoryTokenStore());
    const otherStore = memoryTokenStore();
    const second = tab(otherStore);
    await first.createSession("at-alice");
    await second.createSession("at-alice");
    const secondToken = (await otherStore.get())!;

    await first.logout();
    await vi.waitFor(() => expect(service.isLive(secondToken)).toBe(false));

    expect(second.session()).toBeNull();
  });

  it("a sign-in in another tab with its own store changes nothing here", async () => {
    const first = tab(memoryTokenStore());
    const second = tab(memoryTokenStore());

    await first.createSession("at-alice");
    await settle();

    expect(second.session()).toBeNull();
  });
});

describe("transports", () => {
  it("BroadcastChannel carries a message to another channel of the same name", async () => {
    const name = `test-${Math.random()}`;
    const sender = broadcastChannel(name);
    const receiver = broadcastChannel(name);
    const got = vi.fn();
    receiver.subscribe(got);

    sender.post({ type: "signed-out", token: "sst_x", reason: "logout" });

    await vi.waitFor(() => expect(got).toHaveBeenCalledWith({ type: "signed-out", token: "sst_x", reason: "logout" }));
  });

  it("the storage-event fallback writes each message once and reads other tabs' writes", () => {
    const writes: [string, string][] = [];
    const storage = {
      setItem: (key: string, value: string) => writes.push([key, value]),
      removeItem: vi.fn(),
    } as unknown as Storage;
    const channel = storageEventChannel("app", storage);
    const got = vi.fn();
    channel.subscribe(got);
    const message: TabMessage = { type: "signed-out", token: "sst_x", reason: "revoked" };

    channel.post(message);
    expect(writes).toHaveLength(1);
    expect(writes[0]![0]).toBe("app.message");
    expect(storage.removeItem).toHaveBeenCalledWith("app.message");

    window.dispatchEvent(new StorageEvent("storage", { key: "app.message", newValue: writes[0]![1] }));
    window.dispatchEvent(new StorageEvent("storage", { key: "unrelated", newValue: "{}" }));
    expect(got.mock.calls).toEqual([[message]]);
  });
});
