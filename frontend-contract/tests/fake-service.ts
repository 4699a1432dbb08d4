import type { Session } from "../src/types";

/**
 * An in-memory stand-in for the session service behind a `fetch` function: enough of SPEC
 * sections 5 and 7 (tokens, ETag/If-Match on create, refresh, /current and update, rotation,
 * logout, problem details) to exercise the client's behaviour, and a log of every request it
 * received. It tells an expired token (`session_expired`) from a revoked one
 * (`session_revoked`) and from one it never issued (`session_invalid`), as the service does.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | null;
  ifMatch: string | null;
  contentType: string | null;
  body: unknown;
}

interface Problem {
  status: number;
  code: string;
  detail?: string;
  errors?: Record<string, string[]>;
}

const WRITABLE = new Set(["needs_onboarding", "onboarding_completed", "subscription_plan", "tenant_id", "data"]);

export function problemResponse({ status, code, detail = code, errors }: Problem, headers: Record<string, string> = {}) {
  return new Response(
    JSON.stringify({ type: `https://errors.example/${code}`, title: code, status, detail, code, ...(errors ? { errors } : {}) }),
    { status, headers: { "Content-Type": "application/problem+json", ...headers } },
  );
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

/** One open `GET /api/sessions/events/` stream, driven by the test. */
export interface EventStream {
  token: string;
  send(event: string, data?: unknown): void;
  comment(text: string): void;
  end(): void;
}

function openStream(token: string): { stream: EventStream; response: Response } {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const write = (text: string) => {
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      // The client went away.
    }
  };
  const stream: EventStream = {
    token,
    send: (event, data = {}) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => write(`: ${text}\n\n`),
    end: () => {
      try {
        controller.close();
      } catch {
        // Already closed.
      }
    },
  };
  const response = new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-store" } });
  return { stream, response };
}

export function createFakeService() {
  const requests: RecordedRequest[] = [];
  const live = new Map<string, Session>();
  const dead = new Map<string, "session_expired" | "session_revoked">();
  const streams: EventStream[] = [];
  const held: { match: (request: RecordedRequest) => boolean; release: Promise<void> }[] = [];
  const versions = new Map<string, number>();
  let serial = 0;
  let lifetimeMs = 3_600_000;
  let override: ((request: RecordedRequest) => Response | undefined) | null = null;

  const etagOf = (session: Session) => `"${session.id}-${versions.get(session.id) ?? 0}"`;

  function newSession(sub: string, tenantId?: string): Session {
    serial += 1;
    const now = new Date(Date.UTC(2026, 10, 23, 12, 0, serial)).toISOString();
    return {
      id: `00000000-0000-4000-8000-${String(serial).padStart(12, "0")}`,
      user: { id: `user-${sub}`, auth0_sub: sub, email: "ann@example.com", name: "Ann" },
      tenant: tenantId ? { id: tenantId, name: "Acme", role: "owner" } : null,
      needs_onboarding: true,
      onboarding_completed: false,
      subscription_plan: "free",
      subscription_status: "none",
      data: {},
      created_at: now,
      last_activity_at: now,
      expires_at: new Date(Date.now() + lifetimeMs).toISOString(),
    };
  }

  function issue(session: Session): string {
    const token = `sst_${String(++serial).padStart(43, "x")}`;
    live.set(token, session);
    return token;
  }

  function kill(token: string, code: "session_expired" | "session_revoked"): void {
    if (live.delete(token)) dead.set(token, code);
  }

  function sessionFor(request: RecordedRequest): Session | Response {
    const match = /^Session (\S+)$/.exec(request.authorization ?? "");
    if (!match) return problemResponse({ status: 401, code: "session_missing" }, { "WWW-Authenticate": "Session" });
    const session = live.get(match[1]!);
    if (!session) {
      const code = dead.get(match[1]!) ?? "session_invalid";
      return problemResponse({ status: 401, code }, { "WWW-Authenticate": "Session" });
    }
    return session;
  }

  function route(request: RecordedRequest): Response {
    const key = `${request.method} ${request.path.replace(/\/?$/, "/")}`;
    if (key === "POST /api/sessions/create/") {
      const bearer = /^Bearer (\S+)$/.exec(request.authorization ?? "");
      if (!bearer) return problemResponse({ status: 401, code: "token_missing" });
      if (!bearer[1]!.startsWith("at-")) return problemResponse({ status: 401, code: "token_invalid" });
      const tenantId = (request.body as { tenant_id?: string } | undefined)?.tenant_id;
      const session = newSession(`auth0|${bearer[1]}`, tenantId);
      const token = issue(session);
      return json({ token, token_type: "Session", expires_at: session.expires_at, session }, 201, { ETag: etagOf(session) });
    }
    const found = sessionFor(request);
    if (found instanceof Response) return found;
    const token = request.authorization!.slice("Session ".length);
    switch (key) {
      case "GET /api/sessions/events/": {
        const { stream, response } = openStream(token);
        streams.push(stream);
        return response;
      }
      case "GET /api/sessions/current/":
        return json(found, 200, { ETag: etagOf(found) });
      case "PATCH /api/sessions/current/": {
        const changes = request.body as Record<string, unknown>;
        const unknown = Object.keys(changes).filter((field) => !WRITABLE.has(field));
        if (unknown.length) return problemResponse({ status: 400, code: "unknown_field", errors: Object.fromEntries(unknown.map((f) => [f, ["Unknown field."]])) });
        if ("needs_onboarding" in changes && typeof changes.needs_onboarding !== "boolean") {
          return problemResponse({ status: 400, code: "validation_error", errors: { needs_onboarding: ["Must be a boolean."] } });
        }
        if (request.ifMatch && request.ifMatch !== etagOf(found)) {
          return problemResponse({ status: 412, code: "precondition_failed" });
        }
        Object.assign(found, changes);
        versions.set(found.id, (versions.get(found.id) ?? 0) + 1);
        return json(found, 200, { ETag: etagOf(found) });
      }
      case "DELETE /api/sessions/current/":
        kill(token, "session_revoked");
        return new Response(null, { status: 204 });
      case "POST /api/sessions/refresh/": {
        kill(token, "session_revoked");
        const rotated = issue(found);
        return json({ token: rotated, token_type: "Session", expires_at: found.expires_at, session: found }, 200, { ETag: etagOf(found) });
      }
      case "GET /api/sessions/":
        return json([...new Set(live.values())].filter((s) => s.user.id === found.user.id).map((s) => ({ id: s.id, created_at: s.created_at, last_activity_at: s.last_activity_at, expires_at: s.expires_at, ip: "127.0.0.1", user_agent: "test", device: "Other", current: s === found })));
      case "POST /api/sessions/logout-all/": {
        const others = [...live.entries()].filter(([t, s]) => s.user.id === found.user.id && (t !== token || (request.body as { include_current?: boolean }).include_current));
        for (const [t] of others) kill(t, "session_revoked");
        return json({ revoked: others.length });
      }
      default: {
        const one = /^DELETE \/api\/sessions\/([0-9a-f-]{36})\/$/.exec(key);
        const owned = [...live.entries()].filter(([, s]) => one && s.id === one[1] && s.user.id === found.user.id);
        if (!owned.length) return problemResponse({ status: 404, code: "not_found" });
        for (const [t] of owned) kill(t, "session_revoked");
        return new Response(null, { status: 204 });
      }
    }
  }

  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const text = await request.text();
    const url = new URL(request.url);
    const recorded: RecordedRequest = {
      method: request.method,
      path: url.pathname,
      authorization: request.headers.get("Authorization"),
      ifMatch: request.headers.get("If-Match"),
      contentType: request.headers.get("Content-Type"),
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(recorded);
    // Answer on a later task so that concurrent calls really overlap.
    await new Promise((resolve) => setTimeout(resolve, 1));
    for (const hold of held.filter((h) => h.match(recorded))) await hold.release;
    return override?.(recorded) ?? route(recorded);
  };

  return {
    fetch,
    requests,
    /** Kills every live token, as if the sessions expired on the server (`session_expired`). */
    expireAll() {
      for (const token of [...live.keys()]) kill(token, "session_expired");
    },
    /** Revokes every live token, as an admin, a back-channel logout or another device would. */
    revokeAll() {
      for (const token of [...live.keys()]) kill(token, "session_revoked");
    },
    /**
     * Holds the requests `match` accepts (checked when they arrive) until `release()`; their
     * answer is computed afterwards, from the state at that time.
     */
    hold(match: (request: RecordedRequest) => boolean) {
      let release = () => {};
      held.push({ match, release: new Promise<void>((resolve) => (release = resolve)) });
      return () => release();
    },
    /** Changes the session behind the server's back (another tab), so its ETag moves on. */
    touch(token: string) {
      const session = live.get(token);
      if (session) versions.set(session.id, (versions.get(session.id) ?? 0) + 1);
    },
    isLive: (token: string) => live.has(token),
    /** The event streams opened so far, oldest first. */
    streams,
    /** The session a live token names, to change it behind the client's back. */
    sessionOf: (token: string) => live.get(token),
    /** How long from now the sessions created next say they last (`expires_at`). */
    setLifetime(ms: number) {
      lifetimeMs = ms;
    },
    /** Answers matching requests with a canned response instead of the fake's own behaviour. */
    intercept(handler: (request: RecordedRequest) => Response | undefined) {
      override = handler;
    },
    count: (method: string, path: string) => requests.filter((r) => r.method === method && r.path === path).length,
  };
}

export type FakeService = ReturnType<typeof createFakeService>;
