import createClient from "openapi-fetch";

import { errorFromResponse, networkError, SessionApiError, sessionMissingError } from "./errors";
import type { paths } from "./schema";
import { memoryTokenStore, type TokenStore } from "./token-store";
import type {
  CreateSessionOptions,
  Session,
  SessionChanges,
  SessionSummary,
  SessionTokenResponse,
} from "./types";

export interface SessionClientOptions {
  /** Origin (and optional path prefix) of the session service, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** Where the session token is kept. Defaults to memory only. */
  tokenStore?: TokenStore;
  /**
   * Returns a fresh identity-provider access token (Auth0's `getAccessTokenSilently` fits).
   * When set, a lost session (401 `session_expired`, `session_revoked`, ...) is replaced by a
   * new one, once, and the call is retried before the error reaches the caller.
   */
  getAccessToken?: () => Promise<string>;
  /** Injected for tests and non-browser hosts; defaults to `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
}

export interface UpdateOptions {
  /**
   * `true` sends `If-Match` with the ETag of the last session this client saw, a string sends
   * that ETag. The service answers 412 when the session changed since, so two tabs cannot
   * silently overwrite each other.
   */
  ifMatch?: boolean | string;
}

export type SessionListener = (session: Session | null) => void;

export interface SessionClient {
  /** Exchanges an identity-provider access token for a session and stores its token. */
  createSession(accessToken: string, options?: CreateSessionOptions): Promise<Session>;
  /** `createSession` with a token from `getAccessToken`. */
  signIn(options?: CreateSessionOptions): Promise<Session>;
  /** The stored session (`GET /current`), or a new one when `autoCreate` and none is stored. */
  restore(options?: { autoCreate?: boolean }): Promise<Session | null>;
  current(): Promise<Session>;
  update(changes: SessionChanges, options?: UpdateOptions): Promise<Session>;
  /** Rotates the session token; the old one stops working at once. */
  refresh(): Promise<Session>;
  /** Ends the session on the service and forgets the token, even when the service cannot be reached. */
  logout(): Promise<void>;
  listSessions(): Promise<SessionSummary[]>;
  revokeSession(id: string): Promise<void>;
  logoutAll(options?: { includeCurrent?: boolean }): Promise<number>;
  /** The ETag of the last session response, used by `update(..., { ifMatch: true })`. */
  lastETag(): string | null;
  /** Called with the session after every change the client sees, and with `null` when it ends. */
  subscribe(listener: SessionListener): () => void;
}

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

async function unwrap<T>(pending: Promise<FetchResult<T>>): Promise<{ data: T; response: Response }> {
  let result: FetchResult<T>;
  try {
    result = await pending;
  } catch (cause) {
    throw networkError(cause);
  }
  if (!result.response.ok) throw errorFromResponse(result.error, result.response);
  return { data: result.data as T, response: result.response };
}

const sessionHeader = (token: string) => ({ Authorization: `Session ${token}` });

export function createSessionClient(options: SessionClientOptions): SessionClient {
  const store = options.tokenStore ?? memoryTokenStore();
  const { getAccessToken } = options;
  const api = createClient<paths>({
    baseUrl: options.baseUrl,
    // Read at call time so a fetch replaced after creation (tests, polyfills) is honoured.
    fetch: (request) => (options.fetch ?? globalThis.fetch)(request),
  });

  const listeners = new Set<SessionListener>();
  const inFlight = new Map<string, Promise<unknown>>();
  let etag: string | null = null;
  // Settles when no create or refresh is running: calls wait for it instead of sending a token
  // that one of them is about to replace.
  let rotations = 0;
  let rotation: Promise<void> = Promise.resolve();
  let rotationDone = () => {};

  function emit(session: Session | null): void {
    for (const listener of listeners) listener(session);
  }

  function once<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = inFlight.get(key);
    if (pending) return pending as Promise<T>;
    const started = run().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  function rotating<T>(run: () => Promise<T>): Promise<T> {
    if (rotations++ === 0) rotation = new Promise((resolve) => (rotationDone = resolve));
    const started = run();
    started
      .catch(() => undefined)
      .finally(() => {
        if (--rotations === 0) rotationDone();
      });
    return started;
  }

  function seen(session: Session, response: Response): Session {
    etag = response.headers.get("ETag") ?? etag;
    emit(session);
    return session;
  }

  async function adopt(
    body: SessionTokenResponse,
    response: Response,
    { rotated = false } = {},
  ): Promise<Session> {
    await store.set(body.token);
    // A rotated token still names the same session, so the ETag seen before stays valid.
    etag = response.headers.get("ETag") ?? (rotated ? etag : null);
    emit(body.session);
    return body.session;
  }

  async function forget(): Promise<void> {
    await store.clear();
    etag = null;
    emit(null);
  }

  const createKey = (body: CreateSessionOptions = {}) => `create:${body.tenant_id ?? ""}`;

  async function exchange(accessToken: string, body: CreateSessionOptions = {}): Promise<Session> {
    const { data, response } = await unwrap(
      api.POST("/api/sessions/create/", {
        headers: { Authorization: `Bearer ${accessToken}` },
        body,
      }),
    );
    return adopt(data, response);
  }

  function createSession(accessToken: string, body?: CreateSessionOptions): Promise<Session> {
    return once(createKey(body), () => rotating(() => exchange(accessToken, body)));
  }

  function signIn(body?: CreateSessionOptions): Promise<Session> {
    return once(createKey(body), () =>
      rotating(async () => {
        if (!getAccessToken) throw new Error("signIn() needs the getAccessToken option");
        return exchange(await getAccessToken(), body);
      }),
    );
  }

  /**
   * Runs `call` with the stored token. When the session is lost, it retries once with a token
   * a concurrent refresh stored meanwhile, or else once with a brand-new session (`renewed`).
   * A rotation itself must not wait for rotations to end: it would wait for itself.
   */
  async function withSession<T>(
    call: (token: string, renewed: boolean) => Promise<T>,
    { awaitRotation = true } = {},
  ): Promise<T> {
    if (awaitRotation) await rotation;
    const token = await store.get();
    let lost: SessionApiError;
    if (token) {
      try {
        return await call(token, false);
      } catch (error) {
        if (!(error instanceof SessionApiError) || !error.isSessionLost) throw error;
        lost = error;
      }
      if (awaitRotation) await rotation;
      const latest = await store.get();
      if (latest && latest !== token) return call(latest, false);
    } else {
      lost = sessionMissingError();
    }
    if (!getAccessToken) {
      await forget();
      throw lost;
    }
    try {
      await signIn();
    } catch (cause) {
      await forget();
      throw new SessionApiError(lost, { cause });
    }
    const renewed = await store.get();
    if (!renewed) throw lost;
    return call(renewed, true);
  }

  function current(): Promise<Session> {
    return once("current", () =>
      withSession(async (token) => {
        const { data, response } = await unwrap(
          api.GET("/api/sessions/current/", { headers: sessionHeader(token) }),
        );
        return seen(data, response);
      }),
    );
  }

  function restore({ autoCreate = false } = {}): Promise<Session | null> {
    return once("restore", async () => {
      await rotation;
      if (await store.get()) {
        try {
          return await current();
        } catch (error) {
          if (error instanceof SessionApiError && error.isSessionLost) return null;
          throw error;
        }
      }
      return autoCreate && getAccessToken ? signIn() : null;
    });
  }

  function update(changes: SessionChanges, { ifMatch = false }: UpdateOptions = {}): Promise<Session> {
    const expected = ifMatch === true ? etag : ifMatch || null;
    return withSession(async (token, renewed) => {
      const headers: Record<string, string> = sessionHeader(token);
      // A renewed session is a different resource: the old ETag can only fail.
      if (expected && !renewed) headers["If-Match"] = expected;
      const { data, response } = await unwrap(
        api.PATCH("/api/sessions/current/", { headers, body: changes }),
      );
      return seen(data, response);
    });
  }

  function refresh(): Promise<Session> {
    return once("refresh", () =>
      rotating(() =>
        withSession(
          async (token) => {
            const { data, response } = await unwrap(
              api.POST("/api/sessions/refresh/", { headers: sessionHeader(token) }),
            );
            return adopt(data, response, { rotated: true });
          },
          { awaitRotation: false },
        ),
      ),
    );
  }

  function logout(): Promise<void> {
    return once("logout", async () => {
      await rotation;
      const token = await store.get();
      try {
        if (token) {
          await unwrap(api.DELETE("/api/sessions/current/", { headers: sessionHeader(token) }));
        }
      } catch (error) {
        // A session the service already considers gone is logged out as far as anyone cares.
        if (!(error instanceof SessionApiError && error.isSessionLost)) {
          await forget();
          throw error;
        }
      }
      await forget();
    });
  }

  function listSessions(): Promise<SessionSummary[]> {
    return withSession(async (token) => {
      const { data } = await unwrap(api.GET("/api/sessions/", { headers: sessionHeader(token) }));
      return data;
    });
  }

  function revokeSession(id: string): Promise<void> {
    return withSession(async (token) => {
      await unwrap(
        api.DELETE("/api/sessions/{session_id}/", {
          headers: sessionHeader(token),
          params: { path: { session_id: id } },
        }),
      );
    });
  }

  function logoutAll({ includeCurrent = false } = {}): Promise<number> {
    return withSession(async (token) => {
      const { data } = await unwrap(
        api.POST("/api/sessions/logout-all/", {
          headers: sessionHeader(token),
          body: { include_current: includeCurrent },
        }),
      );
      if (includeCurrent) await forget();
      return data.revoked;
    });
  }

  return {
    createSession,
    signIn,
    restore,
    current,
    update,
    refresh,
    logout,
    listSessions,
    revokeSession,
    logoutAll,
    lastETag: () => etag,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
