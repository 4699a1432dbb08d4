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

export interface WebStorageTokenStoreOptions {
  /** The storage key; change it when several apps share one origin. */
  key?: string;
  /** Injected for tests and non-browser hosts; defaults to the browser's own storage. */
  storage?: Storage;
}

export const DEFAULT_STORAGE_KEY = "session-service.token";

/**
 * Keeps the token in `localStorage`, shared by every tab of the origin: a new or duplicated
 * tab is signed in at once, and because all tabs hold the one token, a rotation in one (which
 * the client announces to the others) never leaves another holding a dead token. The
 * recommended store for an app that can be open in several tabs.
 */
export function localStorageTokenStore(options: WebStorageTokenStoreOptions = {}): TokenStore {
  return webStorageTokenStore(options.storage ?? globalThis.localStorage, options.key ?? DEFAULT_STORAGE_KEY);
}

/**
 * Keeps the token in `sessionStorage`: it survives a reload of the tab but not the tab itself.
 * Each tab has its own session, except that a duplicated tab starts with a copy of the token;
 * the client then follows the other tab's rotations through its broadcast, so neither is
 * left with a dead token.
 */
export function sessionStorageTokenStore(options: WebStorageTokenStoreOptions = {}): TokenStore {
  return webStorageTokenStore(options.storage ?? globalThis.sessionStorage, options.key ?? DEFAULT_STORAGE_KEY);
}

/** When the storage refuses a write (quota, privacy modes), the token is kept in memory. */
function webStorageTokenStore(storage: Storage, key: string): TokenStore {
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
