import type { components } from "./schema";

/** The stable `code` values the service documents, as its OpenAPI document lists them. */
export type ServiceErrorCode = components["schemas"]["CodeEnum"];

/** Codes this client gives errors that never reached the service or came back malformed. */
export type ClientErrorCode = "network_error" | "unexpected_response";

export type KnownErrorCode = ServiceErrorCode | ClientErrorCode;

// `string & {}` keeps autocompletion for the known codes while accepting codes added later.
export type SessionErrorCode = KnownErrorCode | (string & {});

/** Codes after which the stored session token is useless and a new session is needed. */
export const SESSION_LOST_CODES: ReadonlySet<string> = new Set([
  "session_missing",
  "session_invalid",
  "session_expired",
  "session_revoked",
]);

/** The members of an RFC 9457 problem-details body the client reads. */
export interface ProblemFields {
  status: number;
  code: SessionErrorCode;
  title: string;
  detail?: string;
  type?: string;
  errors?: Record<string, string[]>;
}

export class SessionApiError extends Error {
  override readonly name = "SessionApiError";
  readonly status: number;
  readonly code: SessionErrorCode;
  readonly title: string;
  readonly detail: string;
  readonly type: string;
  /** Field-level messages on `validation_error` and similar. */
  readonly errors: Record<string, string[]> | undefined;
  /** Seconds to wait before retrying, when the service sent `Retry-After` and CORS exposes it. */
  readonly retryAfter: number | undefined;

  constructor(
    problem: ProblemFields,
    options: { retryAfter?: number; cause?: unknown } = {},
  ) {
    super(problem.detail || problem.title, { cause: options.cause });
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail ?? "";
    this.type = problem.type ?? "about:blank";
    this.errors = problem.errors ?? undefined;
    this.retryAfter = options.retryAfter;
  }

  /** True when the session token is no longer usable (expired, revoked, unknown or absent). */
  get isSessionLost(): boolean {
    return this.status === 401 && SESSION_LOST_CODES.has(this.code);
  }
}

export function isSessionApiError(value: unknown): value is SessionApiError {
  return value instanceof SessionApiError;
}

function isProblem(body: unknown): body is ProblemFields {
  if (typeof body !== "object" || body === null) return false;
  const candidate = body as Record<string, unknown>;
  return typeof candidate.code === "string" && typeof candidate.status === "number";
}

function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Turns a non-2xx response (already parsed by openapi-fetch) into a SessionApiError. */
export function errorFromResponse(body: unknown, response: Response, now = Date.now()): SessionApiError {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"), now);
  if (isProblem(body)) {
    return new SessionApiError({ ...body, status: response.status }, { retryAfter });
  }
  return new SessionApiError(
    {
      status: response.status,
      code: "unexpected_response",
      title: response.statusText || `HTTP ${response.status}`,
      detail: `The service answered ${response.status} without a problem-details body.`,
    },
    { retryAfter },
  );
}

export function networkError(cause: unknown): SessionApiError {
  return new SessionApiError(
    {
      status: 0,
      code: "network_error",
      title: "Network error",
      detail: "The session service could not be reached.",
    },
    { cause },
  );
}

export function sessionMissingError(): SessionApiError {
  return new SessionApiError({
    status: 401,
    code: "session_missing",
    title: "No session",
    detail: "No session token is stored; create a session first.",
  });
}
