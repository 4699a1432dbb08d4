import type { components } from "./schema";

type Schemas = components["schemas"];

export type Session = Schemas["Session"];
export type SessionUser = Schemas["User"];
export type SessionTenant = NonNullable<Session["tenant"]>;
/** The body of `POST /api/sessions/create/` and `/refresh/`: the token and the session it opens. */
export type SessionTokenResponse = Schemas["SessionCreated"];
export type CreateSessionOptions = Schemas["SessionCreateRequest"];
/** What the client may change with `PATCH /api/sessions/current/`. */
export type SessionChanges = Schemas["PatchedSessionUpdateRequest"];
export type SessionSummary = Schemas["SessionSummary"];
export type Problem = Schemas["Problem"];
