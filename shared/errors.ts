/**
 * What can go wrong in sluice's core, said without HTTP. Billing, auth, relay and the store
 * throw these; one mapper at the rim (http/error-mapping.ts) turns each into OpenAI's
 * envelope on /v1 and one-api's on /api, with the status and headers that fit.
 */
export abstract class DomainError extends Error {
  override readonly name: string = this.constructor.name;
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
    super(
      scope === "user"
        ? "You exceeded your current quota, please check your plan and billing details. Your sluice balance does not cover the most this request can cost (its prompt plus the smallest answer)."
        : `You exceeded your current quota: the API key ${keyMasked} has less remaining quota than the most this request can cost. Raise the key's limit or lower max_tokens.`,
    );
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
    message: string,
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
    readonly action: "sign-in" | "registration" | "redemption",
    readonly retryAfterMs: number,
  ) {
    super(tooManyMessage(action, wholeSeconds(retryAfterMs)));
  }

  /** What Retry-After says: at least a second. */
  get retryAfterSeconds(): number {
    return wholeSeconds(this.retryAfterMs);
  }
}

const wholeSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

function tooManyMessage(action: TooManyAttempts["action"], seconds: number): string {
  const wait = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
  switch (action) {
    case "sign-in":
      return `Too many failed sign-ins for this username or from this address (or its network). Try again in ${wait}.`;
    case "registration":
      return `Too many registrations from this address (or its network) or on this site just now. Try again in ${wait}.`;
    case "redemption":
      return `Too many failed redemptions for this account or from this address. Try again in ${wait}.`;
  }
}

/** The caller sent a request that cannot be served as it is. */
export class InvalidRequest extends DomainError {
  constructor(
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
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
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The caller's credentials were missing, wrong, or not usable for this call. */
export class Unauthenticated extends DomainError {
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/**
 * Authenticated, but not allowed to do this; `code` when the client can act on it (e.g.
 * `reauthentication_required`: send the current password and try again).
 */
export class Forbidden extends DomainError {
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export class NotFound extends DomainError {
  constructor(
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** The request conflicts with the current state (someone else changed it first). */
export class Conflict extends DomainError {
  constructor(
    message: string,
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
    super(
      `The file is ${bytes} bytes; files can be at most ${limit} bytes (${(limit / 1024 / 1024).toFixed(0)} MB).`,
    );
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
      `You can keep at most ${limits.maxFiles} files and ${limits.maxBytes} bytes stored at once; delete files you no longer need.`,
    );
  }
}

/**
 * Something the call needs besides the data store is unavailable (`code` says what): with
 * `retryAfterSeconds` when trying again soon may help.
 */
export class Unavailable extends DomainError {
  constructor(
    message: string,
    readonly code: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The upstream provider could not serve the call; `kind` says how it failed. */
export class UpstreamRejected extends DomainError {
  constructor(
    readonly kind: "rate_limited" | "unreachable" | "timeout" | "auth" | "client_error",
    message: string,
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
    super(`The data store did not answer (${operation}).`, { cause });
  }
}
