// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, renderHook, screen, waitFor } from "@testing-library/react";
import { useEffect, type ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { createSessionClient, memoryTokenStore, SessionApiError, type SessionClient, type TokenStore } from "../src";
import { SessionProvider, useSession, useSessions } from "../src/react";
import { createFakeService, problemResponse, type FakeService } from "./fake-service";

let service: FakeService;
let store: TokenStore;
let getAccessToken: ReturnType<typeof vi.fn<() => Promise<string>>>;
let client: SessionClient;

function newClient(tokenStore: TokenStore = store) {
  return createSessionClient({ baseUrl: "http://127.0.0.1:9", fetch: service.fetch, tokenStore, getAccessToken, tabs: null, locks: null });
}

beforeEach(() => {
  service = createFakeService();
  store = memoryTokenStore();
  getAccessToken = vi.fn(async () => "at-alice");
  client = newClient();
});

afterEach(cleanup);

function wrapper({ autoCreate = false, refetchThrottleMs = 0 } = {}) {
  return ({ children }: { children: ReactNode }) => (
    <SessionProvider client={client} autoCreate={autoCreate} refetchThrottleMs={refetchThrottleMs}>
      {children}
    </SessionProvider>
  );
}

async function signedIn(options: Parameters<typeof wrapper>[0] = {}) {
  await client.createSession("at-alice");
  const view = renderHook(() => useSession(), { wrapper: wrapper(options) });
  await waitFor(() => expect(view.result.current.status).toBe("authenticated"));
  return view;
}

describe("useSession", () => {
  it("starts signed out and loads nothing when no token is stored", async () => {
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });

    await waitFor(() => expect(result.current.status).toBe("unauthenticated"));
    expect(result.current.session).toBeNull();
    expect(result.current.isAuthenticated()).toBe(false);
    expect(result.current.needsOnboarding()).toBe(false);
    expect(service.requests).toHaveLength(0);
  });

  it("restores a stored session on mount: loading, then authenticated", async () => {
    await client.createSession("at-alice");
    const { result } = renderHook(() => useSession(), { wrapper: wrapper(), reactStrictMode: true });

    expect(result.current.status).toBe("loading");
    expect(result.current.isFetching).toBe(false);
    await waitFor(() => expect(result.current.status).toBe("authenticated"));
    expect(result.current.needsOnboarding()).toBe(true);
    expect(result.current.session?.user.email).toBe("ann@example.com");
    expect(service.count("GET", "/api/sessions/current/")).toBe(1);
  });

  it("keeps status for the first restore and shows later calls as isFetching", async () => {
    const { result } = await signedIn();
    const release = service.hold((r) => r.method === "PATCH");
    const statuses: string[] = [];

    let update!: Promise<unknown>;
    act(() => {
      update = result.current.updateSession({ data: { step: 1 } });
    });
    await waitFor(() => expect(result.current.isFetching).toBe(true));
    statuses.push(result.current.status);
    release();
    await act(() => update);

    expect(statuses).toEqual(["authenticated"]);
    expect(result.current.isFetching).toBe(false);
    expect(result.current.session?.data).toEqual({ step: 1 });
  });

  it("creates one session under StrictMode's double effects", async () => {
    const { result } = renderHook(() => useSession(), { wrapper: wrapper({ autoCreate: true }), reactStrictMode: true });

    await waitFor(() => expect(result.current.status).toBe("authenticated"));
    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(getAccessToken).toHaveBeenCalledTimes(1);
  });

  it("without autoCreate, a stale stored token ends signed out, not in a new session", async () => {
    await client.createSession("at-alice");
    service.expireAll();

    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });

    await waitFor(() => expect(result.current.status).toBe("unauthenticated"));
    expect(getAccessToken).not.toHaveBeenCalled();
  });

  it("exposes a failed action as error and rejects with it", async () => {
    const { result } = await signedIn();

    let thrown: unknown;
    await act(async () => {
      thrown = await result.current.updateSession({ plan: "gold" } as never).catch((error: unknown) => error);
    });

    expect(thrown).toBeInstanceOf(SessionApiError);
    expect(result.current.error).toBe(thrown);
    expect((result.current.error as SessionApiError).code).toBe("unknown_field");
    expect(result.current.status).toBe("authenticated");

    await act(() => result.current.refresh());
    expect(result.current.error).toBeNull();
  });

  it("signs out on logout", async () => {
    const { result } = await signedIn();

    await act(() => result.current.logout());

    expect(result.current.status).toBe("unauthenticated");
    expect(result.current.isAuthenticated()).toBe(false);
    expect(await store.get()).toBeNull();
  });

  it("follows a session the client renewed after it expired", async () => {
    const { result } = await signedIn();
    const before = result.current.session?.id;
    service.expireAll();

    await act(() => result.current.updateSession({ data: { theme: "dark" } }));

    expect(result.current.session?.id).not.toBe(before);
    expect(result.current.session?.data).toEqual({ theme: "dark" });
    expect(getAccessToken).toHaveBeenCalledTimes(1);
  });

  it("refetches /current on focus, visibility and reconnect, and signs out a session revoked elsewhere", async () => {
    const { result } = await signedIn();
    const reads = () => service.count("GET", "/api/sessions/current/");
    const before = reads();

    await act(async () => {
      window.dispatchEvent(new Event("focus"));
    });
    await waitFor(() => expect(reads()).toBe(before + 1));
    await act(async () => {
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await waitFor(() => expect(reads()).toBe(before + 2));
    service.revokeAll();
    await act(async () => {
      window.dispatchEvent(new Event("online"));
    });

    await waitFor(() => expect(result.current.status).toBe("unauthenticated"));
    expect((result.current.error as SessionApiError).code).toBe("session_revoked");
    expect(getAccessToken).not.toHaveBeenCalled();
  });

  it("throttles the refetch on focus", async () => {
    await signedIn({ refetchThrottleMs: 60_000 });
    const before = service.count("GET", "/api/sessions/current/");

    await act(async () => {
      window.dispatchEvent(new Event("focus"));
      window.dispatchEvent(new Event("focus"));
    });
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(service.count("GET", "/api/sessions/current/")).toBe(before);
  });

  it("looks again when the session reaches expires_at", async () => {
    service.setLifetime(300);
    getAccessToken.mockRejectedValue(new Error("login_required"));
    await client.createSession("at-alice");
    service.intercept((r) =>
      r.method === "GET" && service.count("GET", "/api/sessions/current/") > 1
        ? problemResponse({ status: 401, code: "session_expired" })
        : undefined,
    );
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.status).toBe("authenticated"));
    expect(service.count("GET", "/api/sessions/current/")).toBe(1);

    await waitFor(() => expect(result.current.status).toBe("unauthenticated"), { timeout: 3_000 });
    expect(service.count("GET", "/api/sessions/current/")).toBe(2);
    expect((result.current.error as SessionApiError).code).toBe("session_expired");
  });

  it("renders the session for components below the provider, without unmounting them on updates", async () => {
    await client.createSession("at-alice");
    let mounts = 0;
    const countMount = () => {
      mounts += 1;
    };
    function Greeting() {
      const { session, status, isFetching, updateSession } = useSession();
      if (status === "loading") return <p>Loading</p>;
      return (
        <Counted onMount={countMount}>
          <p>{session ? `Hello ${session.user.name}` : "Signed out"}</p>
          <p>{isFetching ? "saving" : "idle"}</p>
          <button onClick={() => updateSession({ data: { n: 1 } })}>Save</button>
        </Counted>
      );
    }

    render(<Greeting />, { wrapper: wrapper() });

    expect(screen.getByText("Loading")).toBeTruthy();
    expect(await screen.findByText("Hello Ann")).toBeTruthy();
    fireEvent.click(screen.getByText("Save"));
    expect(await screen.findByText("saving")).toBeTruthy();
    expect(await screen.findByText("idle")).toBeTruthy();
    expect(mounts).toBe(1);
  });

  it("with live, follows the event stream while signed in and stops on sign-out", async () => {
    await client.createSession("at-alice");
    const stop = vi.fn();
    const listen = vi.spyOn(client, "listen").mockReturnValue(stop);
    const { result } = renderHook(() => useSession(), {
      wrapper: ({ children }: { children: ReactNode }) => (
        <SessionProvider client={client} live>
          {children}
        </SessionProvider>
      ),
    });
    await waitFor(() => expect(result.current.status).toBe("authenticated"));
    expect(listen).toHaveBeenCalledTimes(1);

    await act(() => result.current.logout());

    expect(stop).toHaveBeenCalledTimes(1);
  });

  it("refuses to run outside a provider", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(() => renderHook(() => useSession())).toThrow(/SessionProvider/);
  });
});

/** Counts its own mounts: an unmount and remount of the tree below would count twice. */
function Counted({ onMount, children }: { onMount: () => void; children: ReactNode }) {
  useEffect(() => {
    onMount();
  }, [onMount]);
  return <>{children}</>;
}

describe("useSessions", () => {
  it("lists the user's sessions, signs out the others and revokes one", async () => {
    const otherDevice = newClient(memoryTokenStore());
    await otherDevice.createSession("at-alice");
    await client.createSession("at-alice");
    const { result } = renderHook(() => ({ sessions: useSessions(), session: useSession() }), { wrapper: wrapper() });

    await waitFor(() => expect(result.current.sessions.sessions).toHaveLength(2));
    expect(result.current.sessions.sessions?.filter((s) => s.current)).toHaveLength(1);

    let revoked = 0;
    await act(async () => {
      revoked = await result.current.sessions.revokeOthers();
    });
    expect(revoked).toBe(1);
    expect(result.current.sessions.sessions).toHaveLength(1);
    expect(result.current.sessions.busy).toBeNull();
    await expect(otherDevice.current()).rejects.toMatchObject({ code: "session_revoked" });

    const mine = result.current.sessions.sessions![0]!;
    await act(() => result.current.sessions.revoke(mine.id));
    expect(result.current.session.status).toBe("unauthenticated");
    expect(result.current.sessions.sessions).toBeNull();
  });

  it("shows what is running as busy", async () => {
    await client.createSession("at-alice");
    const { result } = renderHook(() => useSessions(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.sessions).toHaveLength(1));
    const release = service.hold((r) => r.path === "/api/sessions/logout-all/");

    let pending!: Promise<number>;
    act(() => {
      pending = result.current.revokeOthers();
    });
    await waitFor(() => expect(result.current.busy).toBe("others"));
    release();
    await act(() => pending);
    expect(result.current.busy).toBeNull();
  });
});
