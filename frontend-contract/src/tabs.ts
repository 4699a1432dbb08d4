import type { Session } from "./types";

/**
 * What one tab tells the other tabs of its origin. Tokens travel only between tabs of the same
 * origin, which can read each other's storage anyway; a receiver acts on a message only when it
 * holds the token the message names, so tabs signed in as someone else are left alone.
 */
export type TabMessage =
  | { type: "signed-in"; token: string; session: Session; etag: string | null }
  | { type: "rotated"; previous: string; token: string; session: Session; etag: string | null }
  | { type: "session"; token: string; session: Session; etag: string | null }
  | { type: "signed-out"; token: string; reason: "logout" | "revoked" | "expired" };

/** A message bus between the tabs of one origin. */
export interface TabChannel {
  post(message: TabMessage): void;
  subscribe(listener: (message: TabMessage) => void): () => void;
}

export const DEFAULT_CHANNEL_NAME = "session-service";

/**
 * A BroadcastChannel where the browser has one, otherwise `storage` events on a localStorage
 * key (every other tab of the origin sees each write), otherwise nothing (a single tab, or a
 * server). Neither delivers a message to the tab that posted it.
 */
export function browserTabChannel(name: string = DEFAULT_CHANNEL_NAME): TabChannel | null {
  if (typeof BroadcastChannel === "function") return broadcastChannel(name);
  const storage = typeof localStorage === "object" ? localStorage : null;
  if (storage && typeof addEventListener === "function") return storageEventChannel(name, storage);
  return null;
}

export function broadcastChannel(name: string = DEFAULT_CHANNEL_NAME): TabChannel {
  const channel = new BroadcastChannel(name);
  const listeners = new Set<(message: TabMessage) => void>();
  channel.onmessage = (event: MessageEvent<TabMessage>) => {
    for (const listener of listeners) listener(event.data);
  };
  return {
    post: (message) => channel.postMessage(message),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The fallback: each message is written to one localStorage key and removed at once; the
 * `storage` event still reaches the other tabs. A serial makes two equal messages two events.
 */
export function storageEventChannel(name: string, storage: Storage = localStorage): TabChannel {
  const key = `${name}.message`;
  let serial = 0;
  return {
    post(message) {
      try {
        storage.setItem(key, JSON.stringify({ message, serial: `${Date.now()}-${++serial}-${Math.random()}` }));
        storage.removeItem(key);
      } catch {
        // Storage refused the write (quota, privacy mode): the other tabs catch up on focus.
      }
    },
    subscribe(listener) {
      const onStorage = (event: StorageEvent) => {
        if (event.key !== key || !event.newValue) return;
        try {
          listener((JSON.parse(event.newValue) as { message: TabMessage }).message);
        } catch {
          // Not one of ours.
        }
      };
      addEventListener("storage", onStorage);
      return () => removeEventListener("storage", onStorage);
    },
  };
}

/** The slice of the Web Locks API the client uses (`navigator.locks`). */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export function browserLocks(): LockManagerLike | null {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return locks && typeof locks.request === "function" ? locks : null;
}
