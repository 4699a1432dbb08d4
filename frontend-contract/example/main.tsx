import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createSessionClient, localStorageTokenStore } from "../src";
import { SessionProvider } from "../src/react";
import { App } from "./App";
import { devAccessToken, loadProfile } from "./dev-identity";

// Served by the backend itself (same origin); `?api=http://127.0.0.1:8000` points the page at
// a backend on another origin (which must list the page's origin in CORS_ALLOWED_ORIGINS).
const params = new URLSearchParams(window.location.search);
const apiBaseUrl = params.get("api") ?? window.location.origin;

// The event stream, served by its own ASGI process (make events). `?events=<url>` names it,
// `?events=off` turns it off; without the parameter, the page served by `make run` on port 8000
// follows the events process `make run` starts beside it on port 8001 of the same host. Elsewhere
// the page has no stream and sees a sign-out from another device when it regains the focus.
function eventsUrlFor(): string | undefined {
  const given = params.get("events");
  if (given === "off") return undefined;
  if (given) return given;
  const page = new URL(apiBaseUrl);
  if (page.port !== "8000") return undefined;
  page.port = "8001";
  return `${page.origin}/api/sessions/events/`;
}
const eventsUrl = eventsUrlFor();

const client = createSessionClient({
  baseUrl: apiBaseUrl,
  // One token for every tab of the origin: a new or duplicated tab is signed in at once, and
  // the client keeps the tabs in step (sign-out, rotation, changes).
  tokenStore: localStorageTokenStore(),
  // With Auth0 this is `getAccessTokenSilently` from @auth0/auth0-react (see the README).
  getAccessToken: () => devAccessToken(apiBaseUrl, loadProfile()),
  eventsUrl,
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionProvider client={client} live={eventsUrl !== undefined}>
      <App apiBaseUrl={apiBaseUrl} eventsUrl={eventsUrl} />
    </SessionProvider>
  </StrictMode>,
);
