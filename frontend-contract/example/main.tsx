import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createSessionClient, localStorageTokenStore } from "../src";
import { SessionProvider } from "../src/react";
import { App } from "./App";
import { devAccessToken, loadProfile } from "./dev-identity";
import { eventsUrlFor } from "./events-url";

// Served by the backend itself (same origin); `?api=http://127.0.0.1:8000` points the page at
// a backend on another origin (which must list the page's origin in CORS_ALLOWED_ORIGINS).
const params = new URLSearchParams(window.location.search);
const apiBaseUrl = params.get("api") ?? window.location.origin;

// The event stream: `?events=<url>`, `?events=off`, or port 8001 beside make run's 8000.
const eventsUrl = eventsUrlFor(window.location.search, apiBaseUrl);

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
