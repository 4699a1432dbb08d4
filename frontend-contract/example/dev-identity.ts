/**
 * The backend's development identity provider (`DJANGO_DEBUG=1` without `AUTH0_DOMAIN`) stands
 * in for Auth0: it signs an access token for whoever the form names.
 */
export interface DevProfile {
  sub: string;
  email: string;
  name: string;
}

export const profile: DevProfile = { sub: "dev|alice", email: "alice@example.com", name: "Alice" };

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
