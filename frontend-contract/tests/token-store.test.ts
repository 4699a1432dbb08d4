// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";

import {
  createSessionClient,
  DEFAULT_STORAGE_KEY,
  localStorageTokenStore,
  memoryTokenStore,
  sessionStorageTokenStore,
} from "../src";
import { createFakeService } from "./fake-service";

afterEach(() => {
  sessionStorage.clear();
  localStorage.clear();
});

describe("memoryTokenStore", () => {
  it("keeps, replaces and forgets one token", () => {
    const store = memoryTokenStore();
    expect(store.get()).toBeNull();
    store.set("sst_a");
    store.set("sst_b");
    expect(store.get()).toBe("sst_b");
    store.clear();
    expect(store.get()).toBeNull();
  });
});

describe("sessionStorageTokenStore", () => {
  it("keeps the token in sessionStorage under its key", () => {
    const store = sessionStorageTokenStore();
    store.set("sst_a");
    expect(sessionStorage.getItem(DEFAULT_STORAGE_KEY)).toBe("sst_a");
    expect(sessionStorageTokenStore().get()).toBe("sst_a");
    store.clear();
    expect(sessionStorage.getItem(DEFAULT_STORAGE_KEY)).toBeNull();
  });

  it("honours a custom key", () => {
    sessionStorageTokenStore({ key: "app-one" }).set("sst_one");
    expect(sessionStorage.getItem("app-one")).toBe("sst_one");
    expect(sessionStorageTokenStore().get()).toBeNull();
  });

  it("falls back to memory when the storage refuses writes", () => {
    const refusing = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException("quota", "QuotaExceededError");
      },
      removeItem: () => undefined,
    } as unknown as Storage;
    const store = sessionStorageTokenStore({ storage: refusing });
    store.set("sst_a");
    expect(store.get()).toBe("sst_a");
    store.clear();
    expect(store.get()).toBeNull();
  });
});

describe("localStorageTokenStore", () => {
  it("keeps one token in localStorage, read by every store of the origin (every tab)", () => {
    const one = localStorageTokenStore();
    const other = localStorageTokenStore();
    one.set("sst_shared");
    expect(localStorage.getItem(DEFAULT_STORAGE_KEY)).toBe("sst_shared");
    expect(sessionStorage.length).toBe(0);
    expect(other.get()).toBe("sst_shared");
    other.clear();
    expect(one.get()).toBeNull();
  });
});

describe("the client's default store", () => {
  it("writes nothing to localStorage or sessionStorage", async () => {
    const setItem = vi.spyOn(Storage.prototype, "setItem");
    const service = createFakeService();
    const api = createSessionClient({ baseUrl: "http://127.0.0.1:9", fetch: service.fetch });

    await api.createSession("at-alice");
    await api.current();

    expect(setItem).not.toHaveBeenCalled();
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(service.requests.at(-1)?.authorization).toMatch(/^Session sst_/);
  });
});
