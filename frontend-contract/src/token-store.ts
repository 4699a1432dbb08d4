/**
 * Where the session token lives between calls. The client only ever reads it to build the
 * `Authorization: Session <token>` header, so any synchronous or asynchronous storage fits.
 */
export interface TokenStore {
  get(): string | null | Promise<string | null>;
  set(token: string): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** The default: the token lives only as long as the page (a reload needs a new session). */
export function memoryTokenStore(initial: string | null = null): TokenStore {
  let token = initial;
  return {
    get: () => token,
    set: (value) => {
      token = value;
    },
    clear: () => {
      token = null;
    },
  };
}

export interface SessionStorageTokenStoreOptions {
  /** The sessionStorage key; change it when several apps share one origin. */
  key?: string;
  /** Injected for tests and non-browser hosts; defaults to `globalThis.sessionStorage`. */
  storage?: Storage;
}

export const DEFAULT_STORAGE_KEY = "session-service.token";

/**
 * Keeps the token in `sessionStorage`: it survives a reload of the tab but not the tab itself,
 * and is not shared with other tabs. When the storage refuses a write (quota, privacy modes),
 * the token is kept in memory so the page still works until it is closed.
 */
export function sessionStorageTokenStore(options: SessionStorageTokenStoreOptions = {}): TokenStore {
  const key = options.key ?? DEFAULT_STORAGE_KEY;
  const storage = options.storage ?? globalThis.sessionStorage;
  const fallback = memoryTokenStore();
  return {
    get: () => {
      try {
        return storage.getItem(key) ?? fallback.get();
      } catch {
        return fallback.get();
      }
    },
    set: (token) => {
      fallback.set(token);
      try {
        storage.setItem(key, token);
        fallback.clear();
      } catch {
        // The token stays in memory only.
      }
    },
    clear: () => {
      fallback.clear();
      try {
        storage.removeItem(key);
      } catch {
        // Nothing was stored there.
      }
    },
  };
}
