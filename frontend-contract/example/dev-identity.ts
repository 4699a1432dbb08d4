/**
 * The backend's development identity provider (`DJANGO_DEBUG=1` without `AUTH0_DOMAIN`) stands
 * in for Auth0: `POST /dev/access-token/` signs an access token for whoever the form names,
 * with the key whose public half the backend serves at `/dev/.well-known/jwks.json`.
 */
export interface DevProfile {
  sub: string;
  email: string;
  name: string;
}

const PROFILE_KEY = "example.dev-profile";

/** Who the next access token is for; kept with the token (localStorage), so every tab renews as the same user. */
export function loadProfile(): DevProfile {
  const saved = localStorage.getItem(PROFILE_KEY);
  return saved ? (JSON.parse(saved) as DevProfile) : { sub: "dev|alice", email: "alice@example.com", name: "Alice" };
}

export function saveProfile(who: DevProfile): void {
  localStorage.setItem(PROFILE_KEY, JSON.stringify(who));
}

export async function devAccessToken(apiBaseUrl: string, who: DevProfile): Promise<string> {
  const response = await fetch(new URL("/dev/access-token/", apiBaseUrl), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(who),
  });
  if (!response.ok) throw new Error(`The dev identity provider answered ${response.status}`);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}
