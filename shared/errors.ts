import { type Message, type MessageCode, type MessageParams, msg } from "./messages/codes";
import { renderEn } from "./messages/render";

/**
 * What can go wrong in sluice's core, said without HTTP. Billing, auth, relay and the store
 * throw these; one mapper at the rim (http/error-mapping.ts) turns each into OpenAI's
 * envelope on /v1 and one-api's on /api, with the status and headers that fit.
 *
 * Each is built from a Message (shared/messages: a code and its params), not a sentence:
 * `.message` is its English (logs, /v1, the one-api envelope's `message`), and `.code` and
 * `.params` travel to /api, where the console words them in the reader's language.
 */
export abstract class DomainError extends Error {
  override readonly name: string = this.constructor.name;
  /** The message code; null only for an error still built from a sentence (being converted). */
  readonly code: MessageCode | null;
  readonly params: MessageParams[MessageCode] | Record<string, never>;

  constructor(message: Message | string, options?: ErrorOptions) {
    super(typeof message === "string" ? message : renderEn(message), options);
    this.code = typeof message === "string" ? null : message.code;
    this.params = typeof message === "string" ? {} : message.params;
  }

  /** The message this error says, when it has a code. */
  said(): Message | undefined {
    return this.code === null ? undefined : ({ code: this.code, params: this.params } as Message);
  }
}

/** The balance (or a limited key's remaining quota) does not cover the most a call can cost. */
export class QuotaExceeded extends DomainError {
  constructor(
    readonly scope: "user" | "key",
    /** The key, masked, when a key's own limit refused the call. */
    readonly keyMasked?: string,
    /** What was left, when the refusing write said. */
    readonly available?: number,
  ) {
    super(msg("insufficient_quota", scope === "user" ? {} : { key: keyMasked ?? "" }));
  }
}

/**
 * What rate limits leave of a minute's requests and tokens: each limit that is set, what is
 * left of it, and the milliseconds until its window resets (OpenAI tells it in its
 * x-ratelimit-* headers). Of a key's and its user's, each tells of the one with less left.
 */
export interface RateStanding {
  requests?: { limit: number; remaining: number; resetMs: number };
  tokens?: { limit: number; remaining: number; resetMs: number };
}

/**
 * A key's or a user's (`scope`) rate limit refused the call: `dimension` is what ran out
 * (requests per minute, tokens per minute, or calls at once); `standing`, what the limits
 * left.
 */
export class RateLimited extends DomainError {
  constructor(
    readonly dimension: "rpm" | "tpm" | "concurrency",
    readonly scope: "key" | "user",
    message: Message | string,
    readonly retryAfterMs: number,
    readonly standing: RateStanding,
  ) {
    super(message);
  }
}

/**
 * Too many attempts of something that guesses a secret or hands out credit: sign-ins,
 * registrations, redemptions. Counted before the attempt (shared/auth/attempt-guard.ts).
 */
export class TooManyAttempts extends DomainError {
  constructor(
    readonly action: "sign-in" | "registration" | "redemption" | "mail",
    readonly retryAfterMs: number,
  ) {
    super(
      msg(TOO_MANY[action], {
        retry_after_seconds: wholeSeconds(retryAfterMs),
      }),
    );
  }

  /** What Retry-After says: at least a second. */
  get retryAfterSeconds(): number {
    return wholeSeconds(this.retryAfterMs);
  }
}

const wholeSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The message code of each throttled action, which one-api's envelope carries as `code`. */
const TOO_MANY = {
  "sign-in": "too_many_sign_ins",
  registration: "too_many_registrations",
  redemption: "too_many_redemptions",
  mail: "too_many_mails",
} as const;

/** The caller sent a request that cannot be served as it is. */
export class InvalidRequest extends DomainError {
  constructor(
    message: Message | string,
    readonly param: string | null = null,
    /** OpenAI's `error.code` on /v1 (`invalid_type`, `missing_required_parameter`, …). */
    readonly openaiCode: string | null = null,
  ) {
    super(message);
  }
}

/**
 * A model the caller may not use, or that no channel serves here; `resting` when channels
 * serve it but none can right now (cooling down after 429s, circuits open, or disabled for
 * it), with the seconds until one may (none when only an admin can bring one back).
 */
export class ModelUnavailable extends DomainError {
  constructor(
    readonly model: string,
    readonly reason: "unknown" | "not_priced" | "not_on_path" | "resting",
    message: Message | string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The caller's credentials were missing, wrong, or not usable for this call. */
export class Unauthenticated extends DomainError {
  constructor(
    message: Message | string,
    /** OpenAI's `error.code` on /v1 (`invalid_api_key`, …). */
    readonly openaiCode: string | null = null,
  ) {
    super(message);
  }
}

/**
 * Authenticated, but not allowed to do this; the code tells a client what to do (e.g.
 * `reauthentication_required`: send the current password and try again).
 */
export class Forbidden extends DomainError {
  constructor(
    message: Message | string,
    /** OpenAI's `error.code` on /v1. */
    readonly openaiCode: string | null = null,
  ) {
    super(message);
  }
}

export class NotFound extends DomainError {
  constructor(
    message: Message | string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** The request conflicts with the current state (someone else changed it first). */
export class Conflict extends DomainError {
  constructor(
    message: Message | string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** A file larger than files may be (SLUICE_MAX_FILE_BYTES). */
export class FileTooLarge extends DomainError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(msg("file_too_large", { bytes, limit }));
  }
}

/** How much a user may keep stored at once. */
export interface StorageLimits {
  maxFiles: number;
  maxBytes: number;
}

/** A user's stored files would pass their limit: the new one is not stored. */
export class StorageFull extends DomainError {
  constructor(readonly limits: StorageLimits) {
    super(
      msg("storage_limit_exceeded", { max_files: limits.maxFiles, max_bytes: limits.maxBytes }),
    );
  }
}

/**
 * Something the call needs besides the data store is unavailable (`openaiCode` says what): with
 * `retryAfterSeconds` when trying again soon may help.
 */
export class Unavailable extends DomainError {
  constructor(
    message: Message | string,
    readonly openaiCode: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The upstream provider could not serve the call; `kind` says how it failed. */
export class UpstreamRejected extends DomainError {
  constructor(
    readonly kind: "rate_limited" | "unreachable" | "timeout" | "auth" | "client_error",
    message: Message | string,
    readonly details: {
      status?: number;
      retryAfter?: string;
      type?: string | null;
      code?: string | null;
      param?: string | null;
    } = {},
  ) {
    super(message);
  }
}

/** DynamoDB could not be reached or kept failing: the call may be tried again shortly. */
export class StoreUnavailable extends DomainError {
  constructor(
    readonly operation: string,
    cause?: unknown,
  ) {
    super(msg("store_unavailable", { operation }), { cause });
  }
}
