import type { KeyPrincipal } from "../auth/authenticate";
import { QuotaExceeded } from "../errors";
import type { Services } from "../services";
import type { StreamOutcome } from "../stream/relay-stream";
import { bill, holdInUnits, type PriceDimension, priceFor } from "./cost";
import type { Hold } from "./ledger";
import { loggedUsage } from "./logged-usage";
import { completionTokensOf, type Metered, promptTokensOf } from "./metered";
import { batchDiscountFor, type ModelPrice } from "./pricing";
import { type CallLimits, callLimits } from "./rate-limits";

/** Who is paying, for what, and where the request began. */
export interface ChargeContext {
  services: Pick<Services, "pricing" | "ledger" | "settings">;
  principal: KeyPrincipal;
  requestId: string;
  /** performance.now() when the request arrived, for the logged latency. */
  receivedAt: number;
  /** Batch lines are billed with the batch discount. */
  batchId?: string;
}

export interface ChargeRequest {
  model: string;
  endpoint: string;
  dimension: PriceDimension;
  /**
   * The most the call can consume besides the answer `output` bounds: its prompt's tokens
   * (of any kinds: the hold prices them all at the dearest input-side rate), images,
   * characters, seconds.
   */
  maxUse: Metered;
  /**
   * Calls that answer in tokens: what the caller asked for at most per choice (max_tokens),
   * how many choices, and output tokens max_tokens does not bound (rejected predictions).
   * The answer is bounded by what is held: see `quote`. `minimum`: the least answer worth
   * sending (a Messages call with extended thinking needs more than its thinking budget);
   * the answer is never lowered below it, and a balance that does not cover it refuses the call.
   */
  output?: { requested?: number; choices: number; unbounded?: number; minimum?: number };
  stream?: boolean;
  /**
   * The models the channels that may serve the call map it to (their `model_mapping`; the
   * model itself when unmapped), in the order they are tried. A mapped call is billed at the
   * upstream model's price (cost.ts: priceFor), so the hold covers the dearest of them.
   */
  servedAs?: readonly string[];
}

/** How a call is priced and what it may cost at most. */
export interface Quote {
  /** The price that bills the call: once a channel serves it, that channel's (Charge.servedAs). */
  price: ModelPrice;
  /** The price of the call served as each model of `ChargeRequest.servedAs`. */
  prices: ReadonlyMap<string, ModelPrice>;
  multipliers: number[];
  /** Per choice: the most answer tokens the upstream may write (sent as its max_tokens). */
  outputTokens?: number;
  /** The caller's max_tokens (or the model's) was lowered to what the balance covers. */
  lowered: boolean;
  holdUnits: number;
  /** The most tokens the call can use (its prompt's bound and its longest answer). */
  tokens: number;
}

export type CallOutcome = StreamOutcome | "failed";

/** An answer shorter than this is not worth starting: the call is refused instead. */
export const MIN_OUTPUT_TOKENS = 16;

/**
 * Prices a call and sizes its hold. A hold caps the bill: its prompt is an upper bound of
 * what the model reads, and its answer is bounded by the max_tokens sluice sends upstream —
 * the caller's, or the model's largest when the caller gives none — lowered to what
 * `spendable` covers when it does not cover that. Below MIN_OUTPUT_TOKENS it is not lowered
 * further: the hold then decides (and most likely refuses).
 */
export async function quote(
  context: ChargeContext,
  request: ChargeRequest,
  spendable: number,
): Promise<Quote> {
  const pricing = await context.services.pricing.get();
  const { group } = context.principal.user;
  const names = request.servedAs?.length ? [...new Set(request.servedAs)] : [request.model];
  let multiplier = 1;
  const prices = new Map<string, ModelPrice>();
  for (const name of names) {
    const priced = priceFor(pricing, request.model, request.dimension, group, name);
    prices.set(name, priced.price);
    multiplier = priced.multiplier;
  }
  const all = [...prices.values()];
  const price = all[0] as ModelPrice;
  const multipliers = context.batchId
    ? [multiplier, batchDiscountFor(pricing, request.model, group)]
    : [multiplier];
  const answer = (answerTokens: number) =>
    answerTokens * (request.output?.choices ?? 1) + (request.output?.unbounded ?? 0);
  const { maxUse } = request;
  // Whichever channel serves the call, its bill is within the hold.
  const cost = (answerTokens: number) =>
    Math.max(
      ...all.map((p) =>
        holdInUnits(
          p,
          { ...maxUse, outputTokens: (maxUse.outputTokens ?? 0) + answer(answerTokens) },
          multipliers,
        ),
      ),
    );
  const tokens = (answerTokens: number) => promptTokensOf(maxUse) + answer(answerTokens);
  const quoted = { price, prices, multipliers };
  if (!request.output) return { ...quoted, lowered: false, holdUnits: cost(0), tokens: tokens(0) };
  // Sent to whichever channel serves the call: the shortest longest answer of its models.
  const longest = all.flatMap((p) =>
    p.defaultMaxTokens === undefined ? [] : [p.defaultMaxTokens],
  );
  const wanted =
    request.output.requested ??
    (longest.length > 0 ? Math.min(...longest) : pricing.defaultMaxTokens);
  if (cost(wanted) <= spendable || all.every((p) => p.free)) {
    return {
      ...quoted,
      outputTokens: wanted,
      lowered: false,
      holdUnits: cost(wanted),
      tokens: tokens(wanted),
    };
  }
  const floor = Math.min(Math.max(MIN_OUTPUT_TOKENS, request.output.minimum ?? 0), wanted);
  // The most answer tokens `spendable` covers (cost grows with them): a binary search.
  let low = floor;
  let high = wanted;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (cost(mid) <= spendable) low = mid;
    else high = mid - 1;
  }
  return {
    ...quoted,
    outputTokens: low,
    lowered: true,
    holdUnits: cost(low),
    tokens: tokens(low),
  };
}

/** A priced, held call that still has to be settled (or released) exactly once. */
export class Charge {
  private done = false;

  constructor(
    private readonly context: ChargeContext,
    private readonly request: ChargeRequest,
    private quoted: Quote,
    readonly hold: Hold,
  ) {}

  /** A channel serves the call as `model` (its mapping): that model's price bills it. */
  servedAs(model: string): Quote {
    const price = this.quoted.prices.get(model);
    if (price) this.quoted = { ...this.quoted, price };
    return this.quoted;
  }

  /**
   * Settles to what was actually consumed, at most what was held (an upstream that still
   * reports more is charged the hold, and the rest is logged as a shortfall), and logs the
   * call. Runs at most once.
   */
  async settle(
    metered: Metered,
    result: { status: number; outcome: CallOutcome; channelId?: string },
  ): Promise<void> {
    if (this.done) return;
    this.done = true;
    const failed = result.outcome === "failed";
    const billed = failed ? undefined : bill(this.quoted.price, metered, this.quoted.multipliers);
    const cost = billed?.units ?? 0;
    const charged = Math.min(cost, this.hold.units);
    const { key } = this.context.principal;
    await this.context.services.ledger.settle(this.hold, {
      requestId: this.context.requestId,
      keyId: key.id,
      keyName: key.name,
      keyLimited: this.hold.keyLimited,
      model: this.request.model,
      endpoint: this.request.endpoint,
      promptTokens: failed ? 0 : promptTokensOf(metered),
      completionTokens: failed ? 0 : completionTokensOf(metered),
      ...(billed && loggedUsage(metered, billed)),
      quota: charged,
      requests: failed ? 0 : 1,
      ...(cost > charged ? { shortfall: cost - charged } : {}),
      latencyMs: Math.round(performance.now() - this.context.receivedAt),
      status: result.status,
      outcome: result.outcome,
      stream: this.request.stream ?? false,
      channelId: result.channelId,
      batchId: this.context.batchId,
    });
  }

  /** Gives the whole hold back: the upstream call failed and the client pays nothing. */
  release(status: number, channelId?: string): Promise<void> {
    return this.settle({}, { status, outcome: "failed", channelId });
  }

  /** Gives the whole hold back without a log line: for the client, the call never happened. */
  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.context.services.ledger.release(this.hold);
  }
}

/**
 * Holds the charge and opens the upstream call together, so the hold's round trip does not
 * delay the upstream. Nothing is returned, and so nothing reaches the client, until the hold
 * has succeeded; if it fails the upstream call is aborted. When the hold may fail (see
 * QuotaLedger.likelyCovers) it runs first, so a caller without quota costs no upstream call;
 * so it does under rate limits (but the operator's default per-user concurrency alone: see
 * CallLimits.holdFirst), so a refused call never reaches the upstream. A hold refused
 * because the balance was lower than this instance knew is tried once more with the answer
 * lowered to what the refusal said is left, under a hold id of its own.
 */
export async function holdWhileOpening<U>(
  context: ChargeContext,
  request: ChargeRequest,
  /** Opens the upstream call; `signal` aborts it, before its answer or during it. */
  open: (signal: AbortSignal, quoted: Quote) => Promise<U>,
  /**
   * The status the client is answered with when opening fails, for the call's log line:
   * the rim decides it (shared/http/error-mapping.ts).
   */
  statusOf: (err: unknown) => number,
): Promise<{ charge: Charge; upstream: U; quoted: Quote }> {
  const { ledger } = context.services;
  let quoted = await quote(context, request, ledger.spendable(context.principal));
  const limits = await rateLimitsOf(context);
  for (let attempt = 1; ; attempt++) {
    const likelyCovered =
      !limits?.holdFirst && ledger.likelyCovers(context.principal, quoted.holdUnits, limits);
    // The upstream request goes out first: it is the one the client waits for. Its bytes are
    // written on the next tick, so the hold's own request is built only after that.
    const refused = new AbortController();
    const opening = likelyCovered ? open(refused.signal, quoted) : undefined;
    // Its failure is handled below, once the hold is known; not an unhandled rejection meanwhile.
    opening?.catch(() => {});
    let hold: Hold;
    try {
      hold = await ledger.hold(
        context.principal,
        {
          requestId: context.requestId,
          units: quoted.holdUnits,
          model: request.model,
          attempt,
          limits,
          tokens: quoted.tokens,
        },
        opening ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined,
      );
    } catch (err) {
      refused.abort();
      const lower =
        attempt === 1 && err instanceof QuotaExceeded && err.available !== undefined
          ? await quote(context, request, err.available)
          : undefined;
      if (lower && lower.holdUnits < quoted.holdUnits) {
        quoted = lower;
        continue;
      }
      throw err;
    }
    const charge = new Charge(context, request, quoted, hold);
    try {
      return { charge, upstream: await (opening ?? open(refused.signal, quoted)), quoted };
    } catch (err) {
      await charge.release(statusOf(err));
      throw err;
    }
  }
}

/**
 * The call's rate limits: the key's (its own overrides, else its group's per key) and the
 * user's (theirs, else their group's per user, else the operator's default). Batch lines
 * have none: the batch pipeline's own concurrency throttles them.
 */
async function rateLimitsOf(context: ChargeContext): Promise<CallLimits | undefined> {
  if (context.batchId) return undefined;
  const pricing = await context.services.pricing.get();
  const { key, user } = context.principal;
  return callLimits({
    userDefaults: { concurrency: context.services.settings.users.concurrency },
    groupKey: pricing.groupRateLimits?.[user.group],
    key: key.rateLimits,
    groupUser: pricing.groupUserRateLimits?.[user.group],
    user: user.rateLimits,
  });
}
