export { createSessionClient } from "./client";
export type { SessionClient, SessionClientOptions, SessionListener, UpdateOptions } from "./client";
export {
  SESSION_LOST_CODES,
  SessionApiError,
  isSessionApiError,
  type ClientErrorCode,
  type KnownErrorCode,
  type ProblemFields,
  type ServiceErrorCode,
  type SessionErrorCode,
} from "./errors";
export {
  DEFAULT_STORAGE_KEY,
  memoryTokenStore,
  sessionStorageTokenStore,
  type SessionStorageTokenStoreOptions,
  type TokenStore,
} from "./token-store";
export type {
  CreateSessionOptions,
  Problem,
  Session,
  SessionChanges,
  SessionSummary,
  SessionTenant,
  SessionTokenResponse,
  SessionUser,
} from "./types";
export type { components, paths } from "./schema";
