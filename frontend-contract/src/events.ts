import { createParser, type EventSourceMessage } from "eventsource-parser";

import type { Authorization } from "./client";
import { errorFromResponse, SessionApiError } from "./errors";
import type { Session } from "./types";

/** What the event stream needs from the client that opens it. */
export interface EventStreamHost {
  url: string;
  fetch: typeof globalThis.fetch;
  authorization(): Promise<Authorization | null>;
  recover(error: SessionApiError, sent: Authorization): Promise<unknown>;
  /** A `session.updated` event, published unless the token changed hands since `sent`. */
  updated(session: Session, sent: Authorization): void;
  /** `session.revoked`: signed out for good, if `sent` is still the current token. */
  revoked(sent: Authorization): Promise<void>;
  /** `session.expired`: one `/current`, which renews the session or signs out. */
  expired(): Promise<unknown>;
  /** Waits `ms`, or less if the listening stops. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Follows `GET /api/sessions/events/` (SPEC section 12) until `signal` aborts or the client is
 * signed out: reconnects after a rotation (with the new token) or a dropped connection
 * (backing off), goes through the client's own 401 handling when the stream is refused.
 */
export async function followEvents(host: EventStreamHost, signal: AbortSignal): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    const sent = await host.authorization();
    if (!sent) return;
    let response: Response;
    try {
      response = await host.fetch(host.url, {
        headers: { Authorization: `Session ${sent.token}`, Accept: "text/event-stream" },
        signal,
      });
    } catch {
      if (signal.aborted) return;
      await host.sleep(backoff(++failures), signal);
      continue;
    }
    if (response.status === 401) {
      const error = errorFromResponse(await response.json().catch(() => null), response);
      if (!error.isSessionLost) return;
      try {
        await host.recover(error, sent);
      } catch {
        return; // signed out
      }
      continue;
    }
    if (!response.ok || !response.body) {
      const retryAfter = errorFromResponse(null, response).retryAfter;
      await host.sleep(retryAfter !== undefined ? retryAfter * 1000 : backoff(++failures), signal);
      continue;
    }
    failures = 0;
    const ending = await read(response.body, sent, host, signal);
    if (ending === "revoked") return;
    if (ending === "expired") await host.expired().catch(() => undefined);
    // After a rotation made by another tab, give its message a moment to bring the new token.
    if (ending === "rotated") await host.sleep(50, signal);
  }
}

function backoff(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 6));
}

type Ending = "revoked" | "expired" | "rotated" | "closed";

async function read(body: ReadableStream<Uint8Array>, sent: Authorization, host: EventStreamHost, signal: AbortSignal): Promise<Ending> {
  let ending: Ending = "closed";
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const stop = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener("abort", stop);
  try {
    while (ending === "closed") {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) break;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      for (const event of events.splice(0)) {
        if (event.event === "session.updated") host.updated(JSON.parse(event.data) as Session, sent);
        else if (event.event === "session.revoked") {
          await host.revoked(sent);
          ending = "revoked";
        } else if (event.event === "session.expired") ending = "expired";
        else if (event.event === "session.rotated") ending = "rotated";
      }
    }
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
  }
  return ending;
}
