export { createSessionClient } from "./client";
export type {
  Authorization,
  SessionClient,
  SessionClientOptions,
  SessionListener,
  UpdateOptions,
} from "./client";
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
export { sessionMiddleware, type SessionMiddlewareOptions } from "./middleware";
export {
  DEFAULT_CHANNEL_NAME,
  broadcastChannel,
  browserTabChannel,
  storageEventChannel,
  type LockManagerLike,
  type TabChannel,
  type TabMessage,
} from "./tabs";
export {
  DEFAULT_STORAGE_KEY,
  localStorageTokenStore,
  memoryTokenStore,
  sessionStorageTokenStore,
  type TokenStore,
  type WebStorageTokenStoreOptions,
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
