import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createSessionClient, sessionStorageTokenStore } from "../src";
import { SessionProvider } from "../src/react";
import { App } from "./App";
import { devAccessToken, loadProfile } from "./dev-identity";

// `?api=http://127.0.0.1:8000` points the page at a backend on another origin.
const apiBaseUrl =
  new URLSearchParams(window.location.search).get("api") ??
  import.meta.env.VITE_API_BASE_URL ??
  "http://127.0.0.1:8000";

const client = createSessionClient({
  baseUrl: apiBaseUrl,
  // Survives a reload of this tab, unlike the default in-memory store.
  tokenStore: sessionStorageTokenStore(),
  // With Auth0 this would be `getAccessTokenSilently` from @auth0/auth0-react.
  getAccessToken: () => devAccessToken(apiBaseUrl, loadProfile()),
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionProvider client={client}>
      <App apiBaseUrl={apiBaseUrl} />
    </SessionProvider>
  </StrictMode>,
);
