import type { Middleware } from "openapi-fetch";

import type { Authorization, SessionClient } from "./client";
import { errorFromResponse } from "./errors";

export interface SessionMiddlewareOptions {
  /** Sends a retried request; defaults to `globalThis.fetch` (give the host client's own). */
  fetch?: typeof globalThis.fetch;
}

/**
 * Lets a host app's own openapi-fetch client (`client.use(sessionMiddleware(sessions))`) call
 * its API as the signed-in session: each request waits for a running create or rotation, is
 * sent with `Authorization: Session <token>`, and a 401 session-lost answer is handled exactly
 * as the session client's own calls handle it (a rotated token retried once, an expired
 * session renewed when allowed, a revoked one signed out and the 401 handed back).
 */
export function sessionMiddleware(client: SessionClient, options: SessionMiddlewareOptions = {}): Middleware {
  const sent = new WeakMap<Request, { authorization: Authorization; retry: Request }>();
  return {
    async onRequest({ request }) {
      const authorization = await client.authorization();
      if (!authorization) return request;
      request.headers.set("Authorization", `Session ${authorization.token}`);
      // Kept unread so the request can be sent again after a rotation or renewal.
      sent.set(request, { authorization, retry: request.clone() });
      return request;
    },
    async onResponse({ request, response }) {
      const entry = sent.get(request);
      if (response.status !== 401 || !entry) return undefined;
      const body: unknown = await response
        .clone()
        .json()
        .catch(() => null);
      const error = errorFromResponse(body, response);
      if (!error.isSessionLost) return undefined;
      let next: { token: string; renewed: boolean };
      try {
        next = await client.recover(error, entry.authorization);
      } catch {
        return undefined; // signed out: the caller sees the service's 401
      }
      const retry = entry.retry;
      retry.headers.set("Authorization", `Session ${next.token}`);
      // A renewed session is a different resource: an ETag of the old one can only fail.
      if (next.renewed) retry.headers.delete("If-Match");
      return (options.fetch ?? globalThis.fetch)(retry);
    },
  };
}
