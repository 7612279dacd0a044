import { API_FUNCTION } from "./resources";

/**
 * Runtime settings, read once per process from the environment. Every one has a default
 * that suits a real deployment; the names are listed in the README.
 */
export interface Settings {
  /** How long keys, channels and prices are served from memory before being re-read. */
  cacheTtlMs: number;
  /**
   * Keys and access tokens of the format issued before check tags are still looked up (an
   * unknown one costs a read); off, they are refused without one. Unset: as the stack's tag
   * secret records, which says whether it was made on a table that already had users
   * (store/tag-secret.ts): on for stacks older than tags, off for new ones.
   */
  acceptLegacyCredentials?: boolean;
  /**
   * Whether V8 may optimise the API function's code (TurboFan), or stops at its baseline
   * compiler. Unset: by the function's memory size (functions/api/compiler-tiers.ts).
   */
  optimisingCompiler?: boolean;
  /**
   * Whether the API function's bundle is compiled whole when it is imported, or each function
   * when first called. Unset: by the function's memory size (functions/api/compiler-tiers.ts).
   */
  compileAtInit?: boolean;
  /**
   * How long one DynamoDB request may wait for its answer before it is tried again (three
   * attempts): a DynamoDB that stops answering costs a call a few seconds and a 503.
   */
  dynamoAttemptTimeoutMs: number;
  /**
   * Time allowed to connect to an upstream and write the request (DNS, TCP, TLS, the body).
   * Past it the request never reached the upstream, and the next channel is tried.
   */
  upstreamConnectTimeoutMs: number;
  /**
   * Time allowed, once the request is written, for the response headers of a call that is not
   * streamed: a non-streamed answer's headers come when it is complete, so this bounds its
   * whole generation (reasoning included). Past it the client gets 504 and the call is billed
   * (README, Timeouts and retries). At most the API function's timeout less a minute.
   */
  upstreamTimeoutMs: number;
  /**
   * Time allowed, once a stream's request is written, until its first content: a reasoning
   * model streams nothing while it reasons. At most the API function's timeout less a minute.
   */
  upstreamFirstTokenTimeoutMs: number;
  /**
   * Per model (the upstream's name; a trailing `*` matches a prefix): both of the timeouts
   * above, for models that think longer or shorter than the rest.
   */
  upstreamModelTimeoutsMs: Record<string, number>;
  /** Time an upstream may stay silent once it has started answering (streams, bodies). */
  upstreamIdleTimeoutMs: number;
  /**
   * A stream whose client has had nothing for this long gets an SSE comment (`: keep-alive`),
   * so that no proxy on the way (CloudFront waits 60 s) drops it while the model reasons.
   * 0: none.
   */
  streamKeepAliveMs: number;
  /**
   * Tokens per second a (channel, model) is taken to generate until this instance has learned
   * its rate from calls whose usage was reported: what the estimate of an answer that ended
   * without usage bills for the time the model spent reasoning (README, Hang-ups).
   */
  defaultTokensPerSecond: number;
  /**
   * Further attempts, on the next channels, after a failure that left the upstream with
   * nothing to charge for: the request was not sent, or the upstream said it did not process
   * it (429, 503 with Retry-After, 529, a refused key).
   */
  upstreamRetries: number;
  /** Health per (channel, model): circuits, cool-downs after 429s (README, Channel health). */
  channelHealth: {
    /** 5xx or timeouts in a row that open a (channel, model)'s circuit. */
    failureThreshold: number;
    /** How long an open circuit waits before one probe goes through. */
    openMs: number;
    /** Cool-down after a 429 without Retry-After. */
    coolMs: number;
    /** The longest cool-down, whatever Retry-After says. */
    coolMaxMs: number;
    /** A probe that has not reported after this long is given up. */
    probeStaleMs: number;
  };
  /**
   * How long a (channel, model) found not to serve a protocol (no /responses on its host) is
   * reached through a bridge before the protocol is tried there again (relay/protocol-gaps.ts).
   */
  protocolRecheckMs: number;
  /** Completions per request (`n`) at most; larger values are capped. */
  maxChoices: number;
  /**
   * A hold not settled this long after it was taken belongs to a call whose process stopped
   * (a crash, a timeout): the janitor settles or releases it. Longer than the API function's
   * timeout (15 minutes) plus a margin, so no live call is ever reaped.
   */
  holdDeadlineSeconds: number;
  /** How long usage log lines are kept (DynamoDB TTL). */
  logRetentionDays: number;
  /**
   * How long a stored Responses API response is kept (`store`, README: Stored responses):
   * sluice's record, its S3 body and the S3 lifecycle rule of its prefix.
   */
  responseRetentionDays: number;
  /** The functions' own log lines (README, Operate it). */
  log: {
    /** The least severe level written: DEBUG, INFO (an access line per call), WARN or ERROR. */
    level: LogLevel;
    /** The share of successful calls whose access line is written (every failure's is). */
    accessSample: number;
  };
  /** What one user may use at once, whatever their group and keys (README, Rate limits). */
  users: {
    /**
     * Calls one user may have in flight at once unless their group or an admin says
     * otherwise (0: no limit), so that no one customer takes all of the API's concurrency.
     */
    concurrency: number;
    /** Keys one user may have at most (0: no cap). */
    maxKeys: number;
  };
  /** The console: sessions, the defaults of the site's options. */
  console: {
    /** How long a console session lasts. */
    sessionTtlSeconds: number;
    /**
     * A session this recently signed in with its password may make a new access token without
     * sending the password again (0: never).
     */
    recentSignInSeconds: number;
    /** Session cookies are `Secure` (HTTPS only): on AWS; off for the local stack's http. */
    secureCookies: boolean;
    /** Who may register until the admin sets it: open, closed or invitation. */
    registration: string;
    /** Free quota (units) a new account is given until the admin sets it. */
    newUserQuota: number;
    /**
     * scrypt's N for new password hashes, as a power of two (15: 32 MiB and about 50 ms a
     * hash); stored hashes keep the cost they were made at. Lowered only for test stacks.
     */
    passwordCost: number;
    /** How a new account earns it (none, turnstile, approval) until the admin sets it. */
    trialVerification: string;
    /** Cloudflare Turnstile's secret key, when the admin has not saved one in the console. */
    turnstileSecret?: string;
    /** Where Turnstile tokens are verified (Cloudflare's siteverify; tests point it at a fake). */
    turnstileVerifyUrl: string;
  };
  /**
   * Attempts that guess a secret or hand out credit, counted before each is tried
   * (shared/auth/attempt-guard.ts; README, Sign-in and sessions). A limit of 0 counts nothing.
   */
  attempts: {
    signIn: {
      /** Password checks per (username, address) per window; then that pair is locked. */
      pairLimit: number;
      /** Password checks per address, across usernames, per window. */
      addressLimit: number;
      /** Password checks per IPv6 /48 (beside its /64's), across usernames, per window. */
      networkLimit: number;
      windowMs: number;
      /** Password checks per username from addresses it has not signed in from, per minute. */
      usernameLimit: number;
      usernameWindowMs: number;
      /** How long a successful sign-in exempts its (username, address) from the other two. */
      trustMs: number;
    };
    registration: {
      /** Registrations per address per window, per IPv6 /48, and on the whole site. */
      addressLimit: number;
      networkLimit: number;
      siteLimit: number;
      windowMs: number;
    };
    redemption: {
      /** Failed redemptions per user and per address per window. */
      userLimit: number;
      addressLimit: number;
      windowMs: number;
    };
    /**
     * Mails asked for (verification codes, reset links): per address mailed, one a minute and
     * `emailLimit` per window; per sender's address and IPv6 /48, per window.
     */
    mail: {
      emailLimit: number;
      emailPerMinute: number;
      addressLimit: number;
      networkLimit: number;
      windowMs: number;
    };
  };
  /**
   * Where requests come from: the secret the CloudFront distribution sends with each request
   * (set by the stack with a domain of one's own; its viewer address is then trusted), and the
   * origins, besides the request's own host, that sign-in and registration accept.
   */
  edge: {
    originSecret?: string;
    siteOrigins: string[];
    /**
     * The site's own address as its visitors reach it (SLUICE_PUBLIC_ORIGIN): where sign-in
     * providers call back and the URLs handed to payment providers (notify, return), never
     * taken from a request's Host header. Unset: OAuth and payments cannot be enabled. Links in
     * mail (password reset, top-up) begin with it too (stream e-mail).
     */
    publicOrigin?: string;
  };
  /** Where the sign-in providers are (tests and `npm start` point them at local fakes). */
  oauth: {
    github: { web: string; api: string };
    linuxdo: string;
  };
  /**
   * How mail goes out (shared/mail/; README, E-mail): deploy configuration, not a site option,
   * since on AWS the stack grants sending for one sender only.
   */
  mail: {
    /** `ses` (the default when a sender is set), `smtp`, or `none`. */
    transport: "ses" | "smtp" | "none";
    /** The sender (`From`); no mail is sent without one. */
    from?: string;
    /** SES's configuration set, when the operator uses one (event publishing). */
    sesConfigurationSet?: string;
    smtp: { host?: string; port: number; secure: boolean; user?: string; password?: string };
  };
  /**
   * stream C (payments): where the Stripe client sends its calls (SLUICE_STRIPE_API_URL);
   * unset: Stripe's own API. The local stack points it at its demo Stripe API.
   */
  stripeApi?: string;
  /** Files and batches (seed 000, section 2.8). */
  files: {
    /** An uploaded file expires this long after its upload. */
    uploadTtlSeconds: number;
    /** Batch output and error files expire this long after they are written. */
    outputTtlSeconds: number;
    /** The largest file, in bytes. */
    maxBytes: number;
    /** What one user may keep stored at once (their uploads; batch outputs do not count). */
    maxStoredFiles: number;
    maxStoredBytes: number;
  };
  batches: {
    /** A finished batch is kept this long. */
    retentionSeconds: number;
    /** Requests per batch at most. */
    maxLines: number;
    /** Lines per chunk: the unit of work of one worker invocation. */
    chunkLines: number;
    /** Lines of one chunk running at once. */
    lineConcurrency: number;
    /**
     * After a batch's window ends, running chunks get this long to stop before the batch is
     * finalized without them.
     */
    expiryGraceSeconds: number;
  };
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const loginAddressLimit = int(env, "SLUICE_LOGIN_ADDRESS_LOCK_AFTER", 100);
  const registerAddressLimit = int(env, "SLUICE_REGISTER_ADDRESS_LIMIT", 5);
  const answerMs = answerTimeout(int(env, "SLUICE_UPSTREAM_TIMEOUT_MS", 600_000));
  const firstTokenMs = answerTimeout(int(env, "SLUICE_UPSTREAM_FIRST_TOKEN_TIMEOUT_MS", 600_000));
  const modelTimeoutsMs = modelTimeouts(env, "SLUICE_UPSTREAM_MODEL_TIMEOUTS");
  return {
    cacheTtlMs: int(env, "SLUICE_CACHE_TTL_MS", 10_000),
    acceptLegacyCredentials: flag(env, "SLUICE_ACCEPT_LEGACY_CREDENTIALS"),
    optimisingCompiler: flag(env, "SLUICE_OPTIMISING_COMPILER"),
    compileAtInit: flag(env, "SLUICE_COMPILE_AT_INIT"),
    dynamoAttemptTimeoutMs: int(env, "SLUICE_DYNAMODB_TIMEOUT_MS", 2_000),
    upstreamConnectTimeoutMs: int(env, "SLUICE_UPSTREAM_CONNECT_TIMEOUT_MS", 10_000),
    upstreamTimeoutMs: answerMs,
    upstreamFirstTokenTimeoutMs: firstTokenMs,
    upstreamModelTimeoutsMs: modelTimeoutsMs,
    upstreamIdleTimeoutMs: int(env, "SLUICE_UPSTREAM_IDLE_TIMEOUT_MS", 120_000),
    streamKeepAliveMs: int(env, "SLUICE_STREAM_KEEPALIVE_MS", 15_000),
    defaultTokensPerSecond: Math.max(1, int(env, "SLUICE_DEFAULT_TOKENS_PER_SECOND", 100)),
    upstreamRetries: int(env, "SLUICE_UPSTREAM_RETRIES", 2),
    channelHealth: {
      failureThreshold: int(env, "SLUICE_CHANNEL_FAILURE_THRESHOLD", 5),
      openMs: int(env, "SLUICE_CHANNEL_OPEN_SECONDS", 30) * 1_000,
      coolMs: int(env, "SLUICE_CHANNEL_COOLDOWN_SECONDS", 5) * 1_000,
      coolMaxMs: int(env, "SLUICE_CHANNEL_COOLDOWN_MAX_SECONDS", 300) * 1_000,
      // The longest a probe's call may take to be answered: connecting, then its answer.
      probeStaleMs:
        Math.max(answerMs, firstTokenMs, ...Object.values(modelTimeoutsMs)) +
        int(env, "SLUICE_UPSTREAM_CONNECT_TIMEOUT_MS", 10_000),
    },
    protocolRecheckMs: int(env, "SLUICE_PROTOCOL_RECHECK_HOURS", 24) * 3_600_000,
    maxChoices: int(env, "SLUICE_MAX_N", 1),
    holdDeadlineSeconds: int(env, "SLUICE_HOLD_DEADLINE_SECONDS", 15 * 60 + 120),
    logRetentionDays: int(env, "SLUICE_LOG_RETENTION_DAYS", 90),
    // OpenAI keeps a stored response 30 days.
    responseRetentionDays: Math.max(1, int(env, "SLUICE_RESPONSE_RETENTION_DAYS", 30)),
    log: {
      level: logLevel(env),
      accessSample: Math.min(1, Math.max(0, Number(env.SLUICE_ACCESS_LOG_SAMPLE ?? 1))),
    },
    users: {
      concurrency: int(env, "SLUICE_USER_CONCURRENCY", 50),
      maxKeys: int(env, "SLUICE_MAX_KEYS_PER_USER", 0),
    },
    console: {
      sessionTtlSeconds: int(env, "SLUICE_SESSION_TTL_SECONDS", 7 * 86_400),
      recentSignInSeconds: int(env, "SLUICE_RECENT_SIGN_IN_SECONDS", 300),
      secureCookies: env.SLUICE_SECURE_COOKIES !== "false",
      registration: env.SLUICE_REGISTRATION ?? "open",
      newUserQuota: int(env, "SLUICE_NEW_USER_QUOTA", 0),
      passwordCost: passwordCost(env),
      trialVerification: env.SLUICE_TRIAL_VERIFICATION || "approval",
      turnstileSecret: env.SLUICE_TURNSTILE_SECRET || undefined,
      turnstileVerifyUrl:
        env.SLUICE_TURNSTILE_VERIFY_URL ||
        "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    },
    attempts: {
      signIn: {
        pairLimit: int(env, "SLUICE_LOGIN_LOCK_AFTER", 10),
        addressLimit: loginAddressLimit,
        // A /48 holds 65,536 /64s: one allocation gets a few addresses' budgets, not that many.
        networkLimit: int(env, "SLUICE_LOGIN_NETWORK_LOCK_AFTER", 4 * loginAddressLimit),
        windowMs: windowMs(env, "SLUICE_LOGIN_LOCK_SECONDS", 900),
        usernameLimit: int(env, "SLUICE_LOGIN_USERNAME_PER_MINUTE", 5),
        usernameWindowMs: 60_000,
        trustMs: int(env, "SLUICE_LOGIN_TRUST_DAYS", 30) * 86_400_000,
      },
      registration: {
        addressLimit: registerAddressLimit,
        networkLimit: int(env, "SLUICE_REGISTER_NETWORK_LIMIT", 4 * registerAddressLimit),
        siteLimit: int(env, "SLUICE_REGISTER_SITE_LIMIT", 100),
        windowMs: windowMs(env, "SLUICE_REGISTER_WINDOW_SECONDS", 3_600),
      },
      redemption: {
        userLimit: int(env, "SLUICE_REDEEM_USER_LIMIT", 10),
        addressLimit: int(env, "SLUICE_REDEEM_ADDRESS_LIMIT", 30),
        windowMs: windowMs(env, "SLUICE_REDEEM_WINDOW_SECONDS", 3_600),
      },
      mail: {
        emailLimit: int(env, "SLUICE_MAIL_EMAIL_LIMIT", 5),
        emailPerMinute: int(env, "SLUICE_MAIL_EMAIL_PER_MINUTE", 1),
        addressLimit: int(env, "SLUICE_MAIL_ADDRESS_LIMIT", 20),
        networkLimit: int(env, "SLUICE_MAIL_NETWORK_LIMIT", 80),
        windowMs: windowMs(env, "SLUICE_MAIL_WINDOW_SECONDS", 3_600),
      },
    },
    edge: {
      originSecret: env.SLUICE_ORIGIN_SECRET || undefined,
      siteOrigins: (env.SLUICE_SITE_ORIGINS ?? "")
        .split(",")
        .map((origin) => origin.trim().replace(/\/+$/, "").toLowerCase())
        .filter(Boolean),
      publicOrigin: env.SLUICE_PUBLIC_ORIGIN?.trim().replace(/\/+$/, "") || undefined,
    },
    // stream D (sign-in): "<web>,<api>" for GitHub, as the Turnstile URL is overridden.
    oauth: {
      github: {
        web: baseUrls(env.SLUICE_GITHUB_BASE_URLS)[0] ?? "https://github.com",
        api: baseUrls(env.SLUICE_GITHUB_BASE_URLS)[1] ?? "https://api.github.com",
      },
      linuxdo: baseUrls(env.SLUICE_LINUXDO_BASE_URLS)[0] ?? "https://connect.linux.do",
    },
    mail: mailSettings(env),
    stripeApi: env.SLUICE_STRIPE_API_URL?.trim() || undefined,
    files: {
      uploadTtlSeconds: int(env, "SLUICE_FILE_TTL_SECONDS", 3_600),
      outputTtlSeconds: int(env, "SLUICE_BATCH_OUTPUT_TTL_SECONDS", 3 * 3_600),
      maxBytes: int(env, "SLUICE_MAX_FILE_BYTES", 10 * 1024 * 1024),
      maxStoredFiles: int(env, "SLUICE_MAX_STORED_FILES", 1_000),
      maxStoredBytes: int(env, "SLUICE_MAX_STORED_BYTES", 10 * 1024 ** 3),
    },
    batches: {
      retentionSeconds: int(env, "SLUICE_BATCH_RETENTION_SECONDS", 24 * 3_600),
      maxLines: int(env, "SLUICE_BATCH_MAX_LINES", 50_000),
      chunkLines: int(env, "SLUICE_BATCH_CHUNK_LINES", 100),
      lineConcurrency: int(env, "SLUICE_BATCH_LINE_CONCURRENCY", 8),
      expiryGraceSeconds: int(env, "SLUICE_BATCH_EXPIRY_GRACE_SECONDS", 600),
    },
  };
}

function mailSettings(env: NodeJS.ProcessEnv): Settings["mail"] {
  const transport = env.SLUICE_MAIL || "ses";
  if (transport !== "ses" && transport !== "smtp" && transport !== "none")
    throw new Error(`SLUICE_MAIL is ses, smtp or none, not ${transport}`);
  const secure = env.SLUICE_SMTP_SECURE === "true";
  return {
    transport,
    from: env.SLUICE_MAIL_FROM || undefined,
    sesConfigurationSet: env.SLUICE_SES_CONFIGURATION_SET || undefined,
    smtp: {
      host: env.SLUICE_SMTP_HOST || undefined,
      port: int(env, "SLUICE_SMTP_PORT", secure ? 465 : 587),
      secure,
      user: env.SLUICE_SMTP_USER || undefined,
      password: env.SLUICE_SMTP_PASSWORD || undefined,
    },
  };
}

/**
 * The longest any upstream call waits for its answer to begin: the API function's timeout less
 * a minute, in which a call that timed out is still settled (its answer may yet come).
 */
const LONGEST_ANSWER_MS = (API_FUNCTION.timeoutSeconds - 60) * 1_000;

function answerTimeout(ms: number): number {
  return Math.min(Math.max(1, ms), LONGEST_ANSWER_MS);
}

/** `o3-pro=840,gpt-5*=300`: seconds per model name, or per prefix with a trailing `*`. */
function modelTimeouts(env: NodeJS.ProcessEnv, name: string): Record<string, number> {
  const timeouts: Record<string, number> = {};
  for (const entry of (env[name] ?? "").split(",")) {
    if (!entry.trim()) continue;
    const [model, seconds, extra] = entry.split("=").map((part) => part.trim());
    const value = Number(seconds);
    if (!model || extra !== undefined || !Number.isInteger(value) || value <= 0)
      throw new Error(`${name} must be model=seconds pairs separated by commas, got "${entry}"`);
    timeouts[model] = answerTimeout(value * 1_000);
  }
  return timeouts;
}

export const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** SLUICE_LOG_LEVEL, in any case; INFO when unset. */
export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = (env.SLUICE_LOG_LEVEL || "INFO").trim().toUpperCase();
  if ((LOG_LEVELS as readonly string[]).includes(raw)) return raw as LogLevel;
  throw new Error(`SLUICE_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
}

/** `true` or `false`; unset (or empty) is undefined: the code's own rule decides. */
function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return undefined;
  if (raw === "true" || raw === "false") return raw === "true";
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

/**
 * SLUICE_PASSWORD_COST, from 10 (1 MiB, for test stacks that hash hundreds of passwords) to
 * 20; anything else is a mistake that would weaken or stall every sign-in.
 */
function passwordCost(env: NodeJS.ProcessEnv): number {
  const cost = int(env, "SLUICE_PASSWORD_COST", 15);
  if (cost < 10 || cost > 20)
    throw new Error(`SLUICE_PASSWORD_COST must be from 10 to 20, got ${cost}`);
  return cost;
}

/** A window of at least a second, in milliseconds. */
function windowMs(env: NodeJS.ProcessEnv, name: string, fallbackSeconds: number): number {
  return Math.max(1, int(env, name, fallbackSeconds)) * 1_000;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
}

/** A comma-separated list of base URLs, without trailing slashes. */
function baseUrls(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((url) => url.trim().replace(/\/+$/, ""))
    .filter(Boolean);
}
