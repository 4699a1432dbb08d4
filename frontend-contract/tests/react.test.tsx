// @vitest-environment jsdom
import { act, cleanup, render, renderHook, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { createSessionClient, memoryTokenStore, SessionApiError, type SessionClient, type TokenStore } from "../src";
import { SessionProvider, useSession } from "../src/react";
import { createFakeService, type FakeService } from "./fake-service";

let service: FakeService;
let store: TokenStore;
let getAccessToken: ReturnType<typeof vi.fn<() => Promise<string>>>;
let client: SessionClient;

beforeEach(() => {
  service = createFakeService();
  store = memoryTokenStore();
  getAccessToken = vi.fn(async () => "at-alice");
  client = createSessionClient({ baseUrl: "http://127.0.0.1:9", fetch: service.fetch, tokenStore: store, getAccessToken });
});

afterEach(cleanup);

function wrapper({ autoCreate = false } = {}) {
  return ({ children }: { children: ReactNode }) => (
    <SessionProvider client={client} autoCreate={autoCreate}>
      {children}
    </SessionProvider>
  );
}

describe("useSession", () => {
  it("starts signed out and loads nothing when no token is stored", async () => {
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });

    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.session).toBeNull();
    expect(result.current.isAuthenticated()).toBe(false);
    expect(result.current.needsOnboarding()).toBe(false);
    expect(service.requests).toHaveLength(0);
  });

  it("restores a stored session on mount", async () => {
    await client.createSession("at-alice");
    const { result } = renderHook(() => useSession(), { wrapper: wrapper(), reactStrictMode: true });

    expect(result.current.loading).toBe(true);
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.isAuthenticated()).toBe(true);
    expect(result.current.needsOnboarding()).toBe(true);
    expect(result.current.session?.user.email).toBe("ann@example.com");
    expect(service.count("GET", "/api/sessions/current/")).toBe(1);
  });

  it("creates one session under StrictMode's double effects", async () => {
    // StrictMode at the root: React mounts, unmounts and mounts again, running the effects twice.
    const { result } = renderHook(() => useSession(), { wrapper: wrapper({ autoCreate: true }), reactStrictMode: true });

    await waitFor(() => expect(result.current.isAuthenticated()).toBe(true));
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(getAccessToken).toHaveBeenCalledTimes(1);
  });

  it("makes one request for two simultaneous createSession() calls", async () => {
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.loading).toBe(false));

    let sessions: unknown[] = [];
    await act(async () => {
      sessions = await Promise.all([result.current.createSession(), result.current.createSession()]);
    });

    expect(service.count("POST", "/api/sessions/create/")).toBe(1);
    expect(getAccessToken).toHaveBeenCalledTimes(1);
    expect(sessions[0]).toBe(sessions[1]);
    expect(result.current.isAuthenticated()).toBe(true);
  });

  it("uses an explicit access token when given one", async () => {
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.loading).toBe(false));

    await act(() => result.current.createSession({ accessToken: "at-bob" }));

    expect(getAccessToken).not.toHaveBeenCalled();
    expect(result.current.session?.user.auth0_sub).toBe("auth0|at-bob");
  });

  it("completes onboarding through updateSession", async () => {
    await client.createSession("at-alice");
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.needsOnboarding()).toBe(true));

    await act(() => result.current.updateSession({ needs_onboarding: false, onboarding_completed: true }, { ifMatch: true }));

    expect(result.current.needsOnboarding()).toBe(false);
    expect(result.current.session?.onboarding_completed).toBe(true);
    expect(service.requests.at(-1)?.ifMatch).toBeTruthy();
  });

  it("exposes a failed action as error and rejects with it", async () => {
    await client.createSession("at-alice");
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.loading).toBe(false));

    let thrown: unknown;
    await act(async () => {
      thrown = await result.current.updateSession({ plan: "gold" } as never).catch((error: unknown) => error);
    });

    expect(thrown).toBeInstanceOf(SessionApiError);
    expect(result.current.error).toBe(thrown);
    expect((result.current.error as SessionApiError).code).toBe("unknown_field");
    expect(result.current.isAuthenticated()).toBe(true);

    await act(() => result.current.refresh());
    expect(result.current.error).toBeNull();
  });

  it("signs out on logout", async () => {
    await client.createSession("at-alice");
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.isAuthenticated()).toBe(true));

    await act(() => result.current.logout());

    expect(result.current.session).toBeNull();
    expect(result.current.isAuthenticated()).toBe(false);
    expect(await store.get()).toBeNull();
  });

  it("follows a session the client replaced after it was lost", async () => {
    await client.createSession("at-alice");
    const { result } = renderHook(() => useSession(), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.isAuthenticated()).toBe(true));
    const before = result.current.session?.id;
    service.expireAll();

    await act(() => result.current.updateSession({ data: { theme: "dark" } }));

    expect(result.current.session?.id).not.toBe(before);
    expect(result.current.session?.data).toEqual({ theme: "dark" });
    expect(getAccessToken).toHaveBeenCalledTimes(1);
  });

  it("renders the session for components below the provider", async () => {
    await client.createSession("at-alice");
    function Greeting() {
      const { session, loading } = useSession();
      if (loading) return <p>Loading</p>;
      return <p>{session ? `Hello ${session.user.name}` : "Signed out"}</p>;
    }

    render(<Greeting />, { wrapper: wrapper(), reactStrictMode: true });

    expect(screen.getByText("Loading")).toBeTruthy();
    expect(await screen.findByText("Hello Ann")).toBeTruthy();
  });

  it("refuses to run outside a provider", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(() => renderHook(() => useSession())).toThrow(/SessionProvider/);
  });
});
