import createClient from "openapi-fetch";

import { errorFromResponse, networkError, SessionApiError, sessionMissingError } from "./errors";
import { followEvents } from "./events";
import type { paths } from "./schema";
import { browserLocks, browserTabChannel, type LockManagerLike, type TabChannel, type TabMessage } from "./tabs";
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
   * Used by `signIn()`, by `restore({ autoCreate: true })`, and to renew a session that
   * *expired* (401 `session_expired` or `session_missing`), never one that was revoked.
   */
  getAccessToken?: () => Promise<string>;
  /**
   * Decides whether an expired session is renewed silently through `getAccessToken`
   * (default: yes). Return `false` to send the user through a sign-in screen instead.
   */
  renew?: (error: SessionApiError) => boolean;
  /** How tabs of the origin tell each other about sign-in, rotation, changes and sign-out. */
  tabs?: TabChannel | null;
  /** Web Locks, so one tab at a time rotates the token. Defaults to `navigator.locks`. */
  locks?: LockManagerLike | null;
  /** Injected for tests and non-browser hosts; defaults to `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** The event stream for `listen()`; defaults to `<baseUrl>/api/sessions/events/`. */
  eventsUrl?: string;
}

export interface UpdateOptions {
  /**
   * `true` sends `If-Match` with the ETag of the last session this client saw (create,
   * refresh, `/current` and update all carry one), a string sends that ETag. The service
   * answers 412 when the session changed since, so two tabs cannot silently overwrite each other.
   */
  ifMatch?: boolean | string;
}

export type SessionListener = (session: Session | null) => void;

/** The token a request is about to carry, and the generation it belongs to. */
export interface Authorization {
  token: string;
  generation: number;
}

export interface SessionClient {
  /** Exchanges an identity-provider access token for a session and stores its token. */
  createSession(accessToken: string, options?: CreateSessionOptions): Promise<Session>;
  /** `createSession` with a token from `getAccessToken`. */
  signIn(options?: CreateSessionOptions): Promise<Session>;
  /**
   * The stored session (`GET /current`), or `null`. Only with `autoCreate` does it create a
   * session (none stored) or renew an expired one; otherwise a stale token just signs out.
   */
  restore(options?: { autoCreate?: boolean }): Promise<Session | null>;
  current(): Promise<Session>;
  update(changes: SessionChanges, options?: UpdateOptions): Promise<Session>;
  /** Rotates the session token; the old one stops working at once. One tab at a time. */
  refresh(): Promise<Session>;
  /** Signs out at once (every tab of the origin holding this session too), then ends the session on the service. */
  logout(): Promise<void>;
  listSessions(): Promise<SessionSummary[]>;
  revokeSession(id: string): Promise<void>;
  logoutAll(options?: { includeCurrent?: boolean }): Promise<number>;
  /** The last session published, or `null` when signed out. */
  session(): Session | null;
  /** The ETag of the last session response, used by `update(..., { ifMatch: true })`. */
  lastETag(): string | null;
  /** Called with the session after every change the client publishes, and with `null` when it ends. */
  subscribe(listener: SessionListener): () => void;
  /**
   * For transports other than the client's own (see `sessionMiddleware`): waits for a running
   * create or rotation, then gives the token to send, or `null` when signed out.
   */
  authorization(): Promise<Authorization | null>;
  /**
   * For transports other than the client's own: after a call made with `sent` was refused as
   * session-lost, answers the token to retry with (`renewed` when it names a new session), or
   * rethrows `error` once the client has signed out, exactly as the client's own calls do.
   */
  recover(error: SessionApiError, sent: Authorization): Promise<{ token: string; renewed: boolean }>;
  /**
   * Follows the session's event stream (`GET /api/sessions/events/`): changes made elsewhere
   * are published at once, a revocation signs out at once, an expiry goes through renewal, a
   * rotation reconnects with the new token. Ends by itself on sign-out; returns the way to stop.
   */
  listen(): () => void;
  /** Stops listening to other tabs. */
  close(): void;
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
const RENEWABLE = new Set(["session_expired", "session_missing"]);
const REFRESH_LOCK = "session-service.refresh";
const RENEW_LOCK = "session-service.renew";

export function createSessionClient(options: SessionClientOptions): SessionClient {
  const store = options.tokenStore ?? memoryTokenStore();
  const { getAccessToken } = options;
  const tabs = options.tabs === undefined ? browserTabChannel() : options.tabs;
  const locks = options.locks === undefined ? browserLocks() : options.locks;
  const api = createClient<paths>({
    baseUrl: options.baseUrl,
    // Read at call time so a fetch replaced after creation (tests, polyfills) is honoured.
    fetch: (request) => (options.fetch ?? globalThis.fetch)(request),
  });

  const listeners = new Set<SessionListener>();
  const inFlight = new Map<string, Promise<unknown>>();
  let etag: string | null = null;
  let last: Session | null = null;
  // Bumped whenever the token changes hands (sign-in, rotation, sign-out, in this tab or
  // another): a response to a call started under an older generation is never published.
  let generation = 0;
  // Calls wait for running creates and rotations rather than send a token about to be replaced.
  const creates = new Set<Promise<unknown>>();
  const rotations = new Set<Promise<unknown>>();

  const settled = (pending: Set<Promise<unknown>>) =>
    Promise.allSettled([...pending]).then(() => undefined);
  const rotationsDone = async () => {
    while (creates.size || rotations.size) await settled(new Set([...creates, ...rotations]));
  };

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

  function tracked<T>(into: Set<Promise<unknown>>, run: () => Promise<T>): Promise<T> {
    const started = run();
    const entry = started.catch(() => undefined);
    into.add(entry);
    void entry.finally(() => into.delete(entry));
    return started;
  }

  const broadcast = (message: TabMessage) => tabs?.post(message);

  /** Publishes a session read under `since`, unless the token changed hands meanwhile. */
  function publish(since: number, token: string, session: Session, response: Response): Session {
    if (since !== generation) return session;
    const previous = etag;
    etag = response.headers.get("ETag") ?? etag;
    last = session;
    emit(session);
    if (etag !== previous) broadcast({ type: "session", token, session, etag });
    return session;
  }

  async function adopt(body: SessionTokenResponse, response: Response, previous: string | null): Promise<Session> {
    await store.set(body.token);
    generation += 1;
    etag = response.headers.get("ETag");
    last = body.session;
    emit(body.session);
    broadcast(
      previous
        ? { type: "rotated", previous, token: body.token, session: body.session, etag }
        : { type: "signed-in", token: body.token, session: body.session, etag },
    );
    return body.session;
  }

  async function forget(reason: "logout" | "revoked" | "expired"): Promise<string | null> {
    const token = await store.get();
    generation += 1;
    await store.clear();
    etag = null;
    last = null;
    emit(null);
    if (token) broadcast({ type: "signed-out", token, reason });
    return token;
  }

  async function exchange(accessToken: string, body: CreateSessionOptions): Promise<Session> {
    const { data, response } = await unwrap(
      api.POST("/api/sessions/create/", { headers: { Authorization: `Bearer ${accessToken}` }, body }),
    );
    return adopt(data, response, null);
  }

  const tenantKey = (body: CreateSessionOptions) => body.tenant_id ?? "";

  // Keyed by the access token: a create with Bob's token never answers with Alice's session.
  function createSession(accessToken: string, body: CreateSessionOptions = {}): Promise<Session> {
    return once(`create:${tenantKey(body)}:${accessToken}`, () =>
      tracked(creates, () => exchange(accessToken, body)),
    );
  }

  // One identity provider per client, so a sign-in in flight is shared per tenant, including
  // the wait for `getAccessToken` (StrictMode's double effects make one session).
  function signIn(body: CreateSessionOptions = {}): Promise<Session> {
    return once(`sign-in:${tenantKey(body)}`, () =>
      tracked(creates, async () => {
        if (!getAccessToken) throw new Error("signIn() needs the getAccessToken option");
        return createSession(await getAccessToken(), body);
      }),
    );
  }

  /** A new session in place of an expired one: same tenant, same `data`. */
  async function renewSession(replaced: Session | null): Promise<string> {
    const tenantId = replaced?.tenant?.id;
    await signIn(tenantId ? { tenant_id: tenantId } : {});
    const token = await store.get();
    if (!token) throw sessionMissingError();
    if (replaced && Object.keys(replaced.data ?? {}).length) {
      const since = generation;
      const { data, response } = await unwrap(
        api.PATCH("/api/sessions/current/", { headers: sessionHeader(token), body: { data: replaced.data } }),
      );
      publish(since, token, data, response);
    }
    return token;
  }

  async function recover(
    error: SessionApiError,
    sent: Authorization,
    { waitForRotation = true, renewable = true } = {},
  ): Promise<{ token: string; renewed: boolean }> {
    if (waitForRotation) await rotationsDone();
    const latest = await store.get();
    // Rotated meanwhile (here or in another tab): the call was refused for an old token.
    if (latest && latest !== sent.token) return { token: latest, renewed: false };
    // Signed out meanwhile (logout, another tab): nothing to renew, nothing left to forget.
    if (!latest || sent.generation !== generation) throw error;
    const canRenew =
      renewable && getAccessToken !== undefined && RENEWABLE.has(error.code) && (options.renew?.(error) ?? true);
    if (!canRenew) {
      await forget(error.code === "session_expired" ? "expired" : "revoked");
      throw error;
    }
    const replaced = last;
    // Tabs sharing the token all see it expire: the first renews, the others take its session.
    const renewOnce = async () => {
      const now = await store.get();
      if (now && now !== sent.token) return now;
      return renewSession(replaced);
    };
    try {
      return { token: await (locks ? locks.request(RENEW_LOCK, renewOnce) : renewOnce()), renewed: true };
    } catch (cause) {
      await forget("expired");
      throw new SessionApiError(error, { cause });
    }
  }

  async function authorization(): Promise<Authorization | null> {
    await rotationsDone();
    const since = generation;
    const token = await store.get();
    return token ? { token, generation: since } : null;
  }

  /**
   * Runs `call` with the stored token; a session-lost answer goes through `recover`, and the
   * call is retried once with the token it gives. Without a token the client is signed out and
   * the call fails at once: signing in again is the app's decision, never a side effect.
   */
  async function withSession<T>(
    call: (sent: Authorization, renewed: boolean) => Promise<T>,
    { waitForRotation = true, renewable = true } = {},
  ): Promise<T> {
    if (waitForRotation) await rotationsDone();
    const token = await store.get();
    if (!token) throw sessionMissingError();
    const sent = { token, generation };
    try {
      return await call(sent, false);
    } catch (error) {
      if (!(error instanceof SessionApiError) || !error.isSessionLost) throw error;
      const next = await recover(error, sent, { waitForRotation, renewable });
      return call({ token: next.token, generation }, next.renewed);
    }
  }

  function readCurrent({ renewable = true } = {}): Promise<Session> {
    return withSession(
      async (sent) => {
        const { data, response } = await unwrap(
          api.GET("/api/sessions/current/", { headers: sessionHeader(sent.token) }),
        );
        return publish(sent.generation, sent.token, data, response);
      },
      { renewable },
    );
  }

  const current = () => once("current", () => readCurrent());

  function restore({ autoCreate = false } = {}): Promise<Session | null> {
    return once("restore", async () => {
      await rotationsDone();
      if (await store.get()) {
        try {
          return await readCurrent({ renewable: autoCreate });
        } catch (error) {
          if (error instanceof SessionApiError && error.isSessionLost) return null;
          throw error;
        }
      }
      return autoCreate && getAccessToken ? signIn() : null;
    });
  }

  function update(changes: SessionChanges, { ifMatch = false }: UpdateOptions = {}): Promise<Session> {
    return withSession(async (sent, renewed) => {
      const expected = ifMatch === true ? etag : ifMatch || null;
      const headers: Record<string, string> = sessionHeader(sent.token);
      // A renewed session is a different resource: the old ETag can only fail.
      if (expected && !renewed) headers["If-Match"] = expected;
      const { data, response } = await unwrap(api.PATCH("/api/sessions/current/", { headers, body: changes }));
      return publish(sent.generation, sent.token, data, response);
    });
  }

  async function rotate(): Promise<Session> {
    return withSession(
      async (sent) => {
        const { data, response } = await unwrap(
          api.POST("/api/sessions/refresh/", { headers: sessionHeader(sent.token) }),
        );
        // Signed out while the rotation ran: the new token must not bring the session back.
        if (sent.generation !== generation) {
          throw new SessionApiError(sessionMissingError(), { cause: "signed out during refresh" });
        }
        return adopt(data, response, sent.token);
      },
      { waitForRotation: false },
    );
  }

  function refresh(): Promise<Session> {
    return once("refresh", () =>
      tracked(rotations, async () => {
        // A refresh sent while a create runs would rotate the session the create replaces.
        while (creates.size) await settled(creates);
        // Web Locks: the tabs sharing this token rotate it one after the other, each with the
        // token the previous one left in the shared store.
        return locks ? locks.request(REFRESH_LOCK, rotate) : rotate();
      }),
    );
  }

  function logout(): Promise<void> {
    return once("logout", async () => {
      await rotationsDone();
      // Signed out first: calls still in flight find a newer generation and publish nothing.
      const token = await forget("logout");
      if (!token) return;
      try {
        await unwrap(api.DELETE("/api/sessions/current/", { headers: sessionHeader(token) }));
      } catch (error) {
        // A session the service already considers gone is logged out as far as anyone cares.
        if (!(error instanceof SessionApiError && error.isSessionLost)) throw error;
      }
    });
  }

  function listSessions(): Promise<SessionSummary[]> {
    return withSession(async ({ token }) => {
      const { data } = await unwrap(api.GET("/api/sessions/", { headers: sessionHeader(token) }));
      return data;
    });
  }

  function revokeSession(id: string): Promise<void> {
    return withSession(async ({ token }) => {
      await unwrap(
        api.DELETE("/api/sessions/{session_id}/", {
          headers: sessionHeader(token),
          params: { path: { session_id: id } },
        }),
      );
      if (last?.id === id) await forget("logout");
    });
  }

  function logoutAll({ includeCurrent = false } = {}): Promise<number> {
    return withSession(async ({ token }) => {
      const { data } = await unwrap(
        api.POST("/api/sessions/logout-all/", {
          headers: sessionHeader(token),
          body: { include_current: includeCurrent },
        }),
      );
      if (includeCurrent) await forget("logout");
      return data.revoked;
    });
  }

  async function onTabMessage(message: TabMessage): Promise<void> {
    const token = await store.get();
    switch (message.type) {
      case "signed-out":
        // The same session: this tab holds its token, or a store shared with the sender (which
        // the sender has already cleared) while still showing a session. Over here too, with
        // no call to make.
        if (token === message.token || (token === null && last !== null)) {
          generation += 1;
          await store.clear();
          etag = null;
          last = null;
          emit(null);
        } else if (token && message.reason === "logout") {
          // This tab has its own session: the user signed out, so it ends too.
          await logout().catch(() => undefined);
        }
        return;
      case "rotated":
        // A per-tab store duplicated with its tab still holds the old token: take the new one.
        if (token === message.previous) await store.set(message.token);
        else if (token !== message.token) return;
        break;
      case "signed-in":
        // Only a store shared with that tab (localStorage) holds the new token already.
        if (token !== message.token) return;
        break;
      case "session":
        if (token !== message.token) return;
        etag = message.etag;
        last = message.session;
        emit(message.session);
        return;
    }
    generation += 1;
    etag = message.etag;
    last = message.session;
    emit(message.session);
  }

  const unsubscribeTabs = tabs?.subscribe((message) => void onTabMessage(message));

  function listen(): () => void {
    const controller = new AbortController();
    void followEvents(
      {
        url: options.eventsUrl ?? `${options.baseUrl.replace(/\/$/, "")}/api/sessions/events/`,
        fetch: (input, init) => (options.fetch ?? globalThis.fetch)(input, init),
        authorization,
        recover: (error, sent) => recover(error, sent),
        updated(session, sent) {
          if (sent.generation !== generation) return;
          last = session;
          emit(session);
          // The event carries no ETag: read it, so the next If-Match is not a stale one.
          void current().catch(() => undefined);
        },
        async revoked(sent) {
          if (sent.generation === generation) await forget("revoked");
        },
        expired: () => readCurrent(),
        sleep: (ms, signal) =>
          new Promise((resolve) => {
            const timer = setTimeout(resolve, ms);
            signal.addEventListener("abort", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      },
      controller.signal,
    );
    return () => controller.abort();
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
    session: () => last,
    lastETag: () => etag,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    authorization,
    recover: (error, sent) => recover(error, sent),
    listen,
    close: () => unsubscribeTabs?.(),
  };
}
