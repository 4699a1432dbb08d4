import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";

import type { SessionClient, UpdateOptions } from "./client";
import type { CreateSessionOptions, Session, SessionChanges, SessionSummary } from "./types";

export type SessionStatus = "loading" | "authenticated" | "unauthenticated";

export interface SessionState {
  session: Session | null;
  /** `loading` only until the stored session has been restored once; then whether there is one. */
  status: SessionStatus;
  /** True while any later call runs (an action, a refetch on focus): show it, do not unmount for it. */
  isFetching: boolean;
  /** The error of the last call, cleared when the next action starts. */
  error: Error | null;
}

export interface UseSession extends SessionState {
  isAuthenticated(): boolean;
  needsOnboarding(): boolean;
  /** Creates a session with an explicit access token, or one from the client's `getAccessToken`. */
  createSession(options?: CreateSessionOptions & { accessToken?: string }): Promise<Session>;
  updateSession(changes: SessionChanges, options?: UpdateOptions): Promise<Session>;
  refresh(): Promise<Session>;
  logout(): Promise<void>;
}

interface SessionStore {
  client: SessionClient;
  getSnapshot(): SessionState;
  subscribe(listener: () => void): () => void;
  /** Follows the client's sessions; returns the way to stop. */
  connect(): () => void;
  restore(autoCreate: boolean): void;
  /** Runs a call, counted in `isFetching`; an action (not a refetch) clears the last error first. */
  track<T>(work: () => Promise<T>, options?: { action?: boolean }): Promise<T>;
}

const asError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)));

function createSessionStore(client: SessionClient): SessionStore {
  let restored = false;
  let running = 0;
  let state: SessionState = { session: client.session(), status: "loading", isFetching: false, error: null };
  const listeners = new Set<() => void>();

  function set(patch: Partial<SessionState>): void {
    const next = { ...state, ...patch };
    next.status = !restored ? "loading" : next.session ? "authenticated" : "unauthenticated";
    next.isFetching = running > 0;
    if (Object.keys(next).every((key) => next[key as keyof SessionState] === state[key as keyof SessionState])) return;
    state = next;
    for (const listener of listeners) listener();
  }

  return {
    client,
    getSnapshot: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    connect: () => client.subscribe((session) => set({ session })),
    restore(autoCreate) {
      // StrictMode runs the effect twice; the client shares one in-flight restore between both.
      client.restore({ autoCreate }).then(
        (session) => {
          restored = true;
          set({ session: session ?? client.session() });
        },
        (reason: unknown) => {
          restored = true;
          set({ session: client.session(), error: asError(reason) });
        },
      );
    },
    track(work, { action = true } = {}) {
      running += 1;
      set(action ? { error: null } : {});
      return work()
        .catch((reason: unknown) => {
          set({ error: asError(reason) });
          throw reason;
        })
        .finally(() => {
          running -= 1;
          set({});
        });
    },
  };
}

const SessionContext = createContext<SessionStore | null>(null);

export interface SessionProviderProps {
  client: SessionClient;
  /**
   * Create a session on mount when none is stored, or renew an expired one, with the client's
   * `getAccessToken` (for pages only reachable once the identity provider signed the user in).
   * Without it a stale stored token simply leaves the app signed out.
   */
  autoCreate?: boolean;
  /** Refetch `/current` when the window regains focus, becomes visible or comes back online. */
  refetchOnFocus?: boolean;
  /** At most one such refetch per this many milliseconds. */
  refetchThrottleMs?: number;
  /** Follow the session's event stream while signed in (`client.listen()`). */
  live?: boolean;
  children?: ReactNode;
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function SessionProvider({
  client,
  autoCreate = false,
  refetchOnFocus = true,
  refetchThrottleMs = 2_000,
  live = false,
  children,
}: SessionProviderProps) {
  const store = useMemo(() => createSessionStore(client), [client]);
  const { session } = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);

  useEffect(() => store.connect(), [store]);
  useEffect(() => store.restore(autoCreate), [store, autoCreate]);

  // Another device may have signed this one out: look again when the user comes back.
  const signedIn = session !== null;
  useEffect(() => {
    if (!refetchOnFocus || !signedIn || typeof window === "undefined") return;
    let lastRefetch = Date.now();
    const refetch = () => {
      if (document.visibilityState === "hidden" || Date.now() - lastRefetch < refetchThrottleMs) return;
      lastRefetch = Date.now();
      store.track(() => client.current(), { action: false }).catch(() => undefined);
    };
    window.addEventListener("focus", refetch);
    window.addEventListener("online", refetch);
    document.addEventListener("visibilitychange", refetch);
    return () => {
      window.removeEventListener("focus", refetch);
      window.removeEventListener("online", refetch);
      document.removeEventListener("visibilitychange", refetch);
    };
  }, [store, client, signedIn, refetchOnFocus, refetchThrottleMs]);

  useEffect(() => (live && signedIn ? client.listen() : undefined), [client, live, signedIn]);

  // At `expires_at` the service answers `session_expired`: renewed or signed out, not left stale.
  const expiresAt = session?.expires_at;
  useEffect(() => {
    if (!expiresAt) return;
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, Date.parse(expiresAt) - Date.now()) + 500);
    const timer = setTimeout(() => {
      store.track(() => client.current(), { action: false }).catch(() => undefined);
    }, delay);
    return () => clearTimeout(timer);
  }, [store, client, expiresAt]);

  return <SessionContext.Provider value={store}>{children}</SessionContext.Provider>;
}

function useSessionStore(hook: string): SessionStore {
  const store = useContext(SessionContext);
  if (!store) throw new Error(`${hook}() must be used inside <SessionProvider>`);
  return store;
}

export function useSession(): UseSession {
  const store = useSessionStore("useSession");
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const { client, track } = store;
  return useMemo<UseSession>(
    () => ({
      ...state,
      isAuthenticated: () => state.session !== null,
      needsOnboarding: () => state.session?.needs_onboarding === true,
      createSession: ({ accessToken, ...body } = {}) =>
        track(() => (accessToken ? client.createSession(accessToken, body) : client.signIn(body))),
      updateSession: (changes, options) => track(() => client.update(changes, options)),
      refresh: () => track(() => client.refresh()),
      logout: () => track(() => client.logout()),
    }),
    [state, client, track],
  );
}

export interface UseSessions {
  /** The user's live sessions, `null` until the first list arrives. */
  sessions: SessionSummary[] | null;
  /** What is running: `"list"`, `"others"`, the id of a session being revoked, or `null`. */
  busy: string | null;
  error: Error | null;
  reload(): Promise<void>;
  /** Revokes one session (the current one too: that signs this device out). */
  revoke(id: string): Promise<void>;
  /** Signs out every other device and tab session, keeping this one. */
  revokeOthers(): Promise<number>;
}

/** The signed-in user's sessions ("Your sessions"): listed on mount and after each change. */
export function useSessions(): UseSessions {
  const store = useSessionStore("useSessions");
  const { client } = store;
  const { session } = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const [sessions, setSessions] = useState<SessionSummary[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);

  const run = useCallback(
    async <T,>(what: string, work: () => Promise<T>): Promise<T> => {
      setBusy(what);
      setError(null);
      try {
        const result = await work();
        // Revoking this device's own session signs it out: there is nothing left to list.
        setSessions(client.session() ? await client.listSessions() : null);
        return result;
      } catch (reason) {
        setError(asError(reason));
        throw reason;
      } finally {
        setBusy(null);
      }
    },
    [client],
  );

  const sessionId = session?.id;
  useEffect(() => {
    if (!sessionId) {
      setSessions(null);
      return;
    }
    run("list", async () => undefined).catch(() => undefined);
  }, [sessionId, run]);

  return {
    sessions,
    busy,
    error,
    reload: () => run("list", async () => undefined),
    revoke: (id) => run(id, () => client.revokeSession(id)),
    revokeOthers: () => run("others", () => client.logoutAll({ includeCurrent: false })),
  };
}
