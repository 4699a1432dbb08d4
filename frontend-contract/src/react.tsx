import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from "react";

import type { SessionClient, UpdateOptions } from "./client";
import type { CreateSessionOptions, Session, SessionChanges } from "./types";

export interface UseSession {
  session: Session | null;
  /** True while the stored session is being restored and while any action below runs. */
  loading: boolean;
  /** The error of the last action, cleared when the next one starts. */
  error: Error | null;
  isAuthenticated(): boolean;
  needsOnboarding(): boolean;
  /** Creates a session with an explicit access token, or one from the client's `getAccessToken`. */
  createSession(options?: CreateSessionOptions & { accessToken?: string }): Promise<Session>;
  updateSession(changes: SessionChanges, options?: UpdateOptions): Promise<Session>;
  refresh(): Promise<Session>;
  logout(): Promise<void>;
}

const SessionContext = createContext<UseSession | null>(null);

export interface SessionProviderProps {
  client: SessionClient;
  /**
   * Create a session on mount when none is stored, with the client's `getAccessToken`
   * (for pages only reachable once the identity provider has signed the user in).
   */
  autoCreate?: boolean;
  children?: ReactNode;
}

export function SessionProvider({ client, autoCreate = false, children }: SessionProviderProps) {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [pending, setPending] = useState(1);
  // Counts calls still running so that two overlapping ones do not end `loading` early.
  const running = useRef(0);

  useEffect(() => client.subscribe(setSession), [client]);

  const track = useCallback(<T,>(work: () => Promise<T>): Promise<T> => {
    running.current += 1;
    setPending(running.current);
    setError(null);
    return work()
      .catch((reason: unknown) => {
        setError(reason instanceof Error ? reason : new Error(String(reason)));
        throw reason;
      })
      .finally(() => {
        running.current -= 1;
        setPending(running.current);
      });
  }, []);

  useEffect(() => {
    // StrictMode runs this twice on mount; the client shares one in-flight restore between both.
    track(() => client.restore({ autoCreate })).then(setSession, () => undefined);
  }, [client, autoCreate, track]);

  const value = useMemo<UseSession>(
    () => ({
      session,
      loading: pending > 0,
      error,
      isAuthenticated: () => session !== null,
      needsOnboarding: () => session?.needs_onboarding === true,
      createSession: ({ accessToken, ...body } = {}) =>
        track(() => (accessToken ? client.createSession(accessToken, body) : client.signIn(body))),
      updateSession: (changes, options) => track(() => client.update(changes, options)),
      refresh: () => track(() => client.refresh()),
      logout: () => track(() => client.logout()),
    }),
    [client, session, pending, error, track],
  );

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): UseSession {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession() must be used inside <SessionProvider>");
  return value;
}
