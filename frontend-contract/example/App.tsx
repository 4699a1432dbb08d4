import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";

import { isSessionApiError } from "../src";
import { useSession, useSessions } from "../src/react";
import { loadProfile, saveProfile } from "./dev-identity";

function describe(error: Error): string {
  return isSessionApiError(error) ? `${error.status} ${error.code}: ${error.detail || error.title}` : error.message;
}

const when = (iso: string) => new Date(iso).toLocaleString();

/** Runs one call at a time for a button: disabled and aria-busy while it runs. */
function useBusy() {
  const [busy, setBusy] = useState(false);
  const run = (work: () => Promise<unknown>) => {
    setBusy(true);
    work()
      .catch(() => undefined)
      .finally(() => setBusy(false));
  };
  return [busy, run] as const;
}

/**
 * A section whose heading takes the focus when it appears and whenever `focusKey` changes (a
 * part of it went away with the control that had the focus), so keyboard and screen-reader
 * users are never left on <body>.
 */
function Section({ title, testId, focusKey, children }: { title: string; testId: string; focusKey?: unknown; children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [focusKey]);
  const id = `${testId}-title`;
  return (
    <section aria-labelledby={id} data-testid={testId}>
      <h2 id={id} tabIndex={-1} ref={heading}>
        {title}
      </h2>
      {children}
    </section>
  );
}

function SignIn() {
  const { createSession } = useSession();
  const [who, setWho] = useState(loadProfile);
  const [busy, run] = useBusy();

  function submit(event: FormEvent) {
    event.preventDefault();
    saveProfile(who);
    run(() => createSession());
  }

  return (
    <Section title="Sign in" testId="sign-in">
      <p>The backend's development identity provider signs an access token for whoever you name.</p>
      <form onSubmit={submit} aria-busy={busy}>
        <label>
          Subject <input value={who.sub} onChange={(e) => setWho({ ...who, sub: e.target.value })} name="sub" required />
        </label>
        <label>
          Email <input value={who.email} onChange={(e) => setWho({ ...who, email: e.target.value })} name="email" type="email" />
        </label>
        <label>
          Name <input value={who.name} onChange={(e) => setWho({ ...who, name: e.target.value })} name="name" />
        </label>
        <button type="submit" disabled={busy} aria-busy={busy}>
          Sign in
        </button>
      </form>
    </Section>
  );
}

function Onboarding() {
  const { updateSession } = useSession();
  const [busy, run] = useBusy();
  return (
    <Section title="Welcome!" testId="onboarding">
      <p>One step before you start.</p>
      <button
        type="button"
        disabled={busy}
        aria-busy={busy}
        onClick={() => run(() => updateSession({ needs_onboarding: false, onboarding_completed: true }, { ifMatch: true }))}
      >
        Finish onboarding
      </button>
    </Section>
  );
}

function Note() {
  const { session, updateSession } = useSession();
  const [note, setNote] = useState("");
  const [busy, run] = useBusy();

  function submit(event: FormEvent) {
    event.preventDefault();
    run(() => updateSession({ data: { ...session?.data, note } }, { ifMatch: true }));
  }

  return (
    <form onSubmit={submit} data-testid="note-form" aria-busy={busy}>
      <label>
        Note <input value={note} onChange={(e) => setNote(e.target.value)} name="note" />
      </label>
      <button type="submit" disabled={busy} aria-busy={busy}>
        Save note
      </button>
    </form>
  );
}

function Home() {
  const { session, needsOnboarding, refresh, logout } = useSession();
  const [refreshing, runRefresh] = useBusy();
  const [leaving, runLogout] = useBusy();
  if (!session) return null;
  return (
    <Section title="Your session" testId="home" focusKey={session.needs_onboarding}>
      <dl data-testid="session">
        <dt>User</dt>
        <dd data-testid="user">
          {session.user.name} &lt;{session.user.email}&gt;
        </dd>
        <dt>Subject</dt>
        <dd>{session.user.auth0_sub}</dd>
        <dt>Tenant</dt>
        <dd>{session.tenant ? `${session.tenant.name} (${session.tenant.role})` : "none"}</dd>
        <dt>needs_onboarding</dt>
        <dd data-testid="needs-onboarding">{String(session.needs_onboarding)}</dd>
        <dt>onboarding_completed</dt>
        <dd data-testid="onboarding-completed">{String(session.onboarding_completed)}</dd>
        <dt>Plan</dt>
        <dd>
          {session.subscription_plan} ({session.subscription_status})
        </dd>
        <dt>data</dt>
        <dd data-testid="data">{JSON.stringify(session.data)}</dd>
        <dt>Session</dt>
        <dd data-testid="session-id">{session.id}</dd>
        <dt>Expires</dt>
        <dd>{when(session.expires_at)}</dd>
      </dl>
      {needsOnboarding() && <Onboarding />}
      <Note />
      <p>
        <button type="button" disabled={refreshing} aria-busy={refreshing} onClick={() => runRefresh(refresh)}>
          Refresh token
        </button>
        <button type="button" disabled={leaving} aria-busy={leaving} onClick={() => runLogout(logout)}>
          Log out
        </button>
      </p>
    </Section>
  );
}

function YourSessions() {
  const { sessions, busy, error, revoke, revokeOthers, reload } = useSessions();
  const others = sessions?.filter((s) => !s.current).length ?? 0;
  const ignore = (work: Promise<unknown>) => void work.catch(() => undefined);
  return (
    <Section title="Your sessions" testId="sessions" focusKey={sessions?.length}>
      <p>Every device and browser signed in as you. Signing one out ends it at once.</p>
      {error && (
        <p role="alert" data-testid="sessions-error">
          {describe(error)}
        </p>
      )}
      <div aria-busy={busy !== null} aria-live="polite">
        {sessions === null ? (
          <p>Loading your sessions…</p>
        ) : (
          <ul data-testid="session-list">
            {sessions.map((s) => (
              <li key={s.id} data-testid="session-row" data-current={s.current}>
                <strong>{s.device || "Unknown device"}</strong>
                {s.current && <span className="badge"> (this device)</span>}
                <br />
                <span>IP {s.ip ?? "unknown"}</span> · <span>last active {when(s.last_activity_at)}</span> ·{" "}
                <span>signed in {when(s.created_at)}</span>
                {!s.current && (
                  <>
                    {" "}
                    <button
                      type="button"
                      disabled={busy !== null}
                      aria-busy={busy === s.id}
                      aria-label={`Sign out ${s.device || "unknown device"}, last active ${when(s.last_activity_at)}`}
                      onClick={() => ignore(revoke(s.id))}
                    >
                      Sign out
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
      <p>
        <button
          type="button"
          disabled={busy !== null || others === 0}
          aria-busy={busy === "others"}
          onClick={() => ignore(revokeOthers())}
        >
          Sign out all other devices
        </button>
        <button type="button" disabled={busy !== null} aria-busy={busy === "list"} onClick={() => ignore(reload())}>
          Reload list
        </button>
      </p>
    </Section>
  );
}

type View = "home" | "sessions";

function currentView(): View {
  return window.location.hash === "#sessions" ? "sessions" : "home";
}

function Nav({ view }: { view: View }) {
  return (
    <nav aria-label="Sections">
      <a href="#home" aria-current={view === "home" ? "page" : undefined}>
        Session
      </a>{" "}
      <a href="#sessions" aria-current={view === "sessions" ? "page" : undefined}>
        Your sessions
      </a>
    </nav>
  );
}

export function App({ apiBaseUrl, eventsUrl }: { apiBaseUrl: string; eventsUrl?: string }) {
  const { status, isFetching, error } = useSession();
  const [view, setView] = useState<View>(currentView);
  useEffect(() => {
    const follow = () => setView(currentView());
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);

  const label = { loading: "Loading…", authenticated: "Signed in", unauthenticated: "Signed out" }[status];
  return (
    <main aria-busy={status === "loading"}>
      <h1>Session service example</h1>
      <p>
        API: <code>{apiBaseUrl}</code>
      </p>
      <p data-testid="events">
        Events: {eventsUrl ? <code>{eventsUrl}</code> : "off (a sign-out elsewhere shows on the next focus)"}
      </p>
      <p role="status" aria-live="polite">
        <span data-testid="status">{label}</span>
        {isFetching && (
          <span className="fetching" data-testid="fetching">
            {" "}
            (updating…)
          </span>
        )}
      </p>
      {error && (
        <p role="alert" data-testid="error">
          {describe(error)}
        </p>
      )}
      {status === "authenticated" && <Nav view={view} />}
      {status === "unauthenticated" && <SignIn />}
      {status === "authenticated" && (view === "sessions" ? <YourSessions key="sessions" /> : <Home key="home" />)}
    </main>
  );
}
