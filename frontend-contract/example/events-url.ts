/**
 * Where the example page finds the session's event stream, served by its own ASGI process
 * (make events). `?events=<url>` names it and `?events=off` turns it off; without the
 * parameter, a page on port 8000 (make run's web) follows port 8001 of the same host (make
 * run's events process). Elsewhere there is no stream: a sign-out made on another device shows
 * when the page regains the focus.
 */
export function eventsUrlFor(search: string, apiBaseUrl: string): string | undefined {
  const given = new URLSearchParams(search).get("events");
  if (given === "off") return undefined;
  if (given) return given;
  const api = new URL(apiBaseUrl);
  if (api.port !== "8000") return undefined;
  api.port = "8001";
  return `${api.origin}/api/sessions/events/`;
}
