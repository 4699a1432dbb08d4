import { useState, type FormEvent } from "react";

import { isSessionApiError } from "../src";
import { useSession } from "../src/react";
import { loadProfile, saveProfile } from "./dev-identity";

function describe(error: Error): string {
  return isSessionApiError(error) ? `${error.status} ${error.code}: ${error.detail || error.title}` : error.message;
}

function SignIn() {
  const { createSession } = useSession();
  const [who, setWho] = useState(loadProfile);

  function submit(event: FormEvent) {
    event.preventDefault();
    saveProfile(who);
    createSession().catch(() => undefined);
  }

  return (
    <form onSubmit={submit} data-testid="sign-in">
      <label>
        Subject <input value={who.sub} onChange={(e) => setWho({ ...who, sub: e.target.value })} name="sub" />
      </label>{" "}
      <label>
        Email <input value={who.email} onChange={(e) => setWho({ ...who, email: e.target.value })} name="email" />
      </label>{" "}
      <label>
        Name <input value={who.name} onChange={(e) => setWho({ ...who, name: e.target.value })} name="name" />
      </label>{" "}
      <button type="submit">Sign in</button>
    </form>
  );
}

function Onboarding() {
  const { updateSession } = useSession();
  return (
    <section data-testid="onboarding">
      <h2>Welcome!</h2>
      <p>One step before you start.</p>
      <button
        type="button"
        onClick={() =>
          updateSession({ needs_onboarding: false, onboarding_completed: true }, { ifMatch: true }).catch(() => undefined)
        }
      >
        Finish onboarding
      </button>
    </section>
  );
}

function Note() {
  const { session, updateSession } = useSession();
  const [note, setNote] = useState("");

  function submit(event: FormEvent) {
    event.preventDefault();
    updateSession({ data: { ...session?.data, note } }, { ifMatch: true }).catch(() => undefined);
  }

  return (
    <form onSubmit={submit} data-testid="note-form">
      <label>
        Note <input value={note} onChange={(e) => setNote(e.target.value)} name="note" />
      </label>{" "}
      <button type="submit">Save note</button>
    </form>
  );
}

function SignedIn() {
  const { session, needsOnboarding, refresh, logout } = useSession();
  if (!session) return null;
  return (
    <>
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
        <dd>{session.expires_at}</dd>
      </dl>
      {needsOnboarding() && <Onboarding />}
      <Note />
      <p>
        <button type="button" onClick={() => refresh().catch(() => undefined)}>
          Refresh token
        </button>
        <button type="button" onClick={() => logout().catch(() => undefined)}>
          Log out
        </button>
      </p>
    </>
  );
}

export function App({ apiBaseUrl }: { apiBaseUrl: string }) {
  const { loading, error, isAuthenticated } = useSession();
  return (
    <main>
      <h1>Session service example</h1>
      <p>
        API: <code>{apiBaseUrl}</code>
      </p>
      <p role="status" data-testid="status">
        {loading ? "Loading…" : isAuthenticated() ? "Signed in" : "Signed out"}
      </p>
      {error && (
        <p role="alert" data-testid="error">
          {describe(error)}
        </p>
      )}
      {isAuthenticated() ? <SignedIn /> : <SignIn />}
    </main>
  );
}
