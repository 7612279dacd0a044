import type { KeyPrincipal } from "../auth/authenticate";
import type { Call } from "../http/route";
import type { Usage } from "../relay/usage";
import type { Services } from "../services";
import type { StreamOutcome } from "../stream/relay-stream";
import { costInUnits, type Metered, type PriceDimension, priceFor } from "./cost";
import type { Hold } from "./ledger";
import type { ModelPrice } from "./pricing";

/** Who is paying, for what, and where the request began. */
export interface ChargeContext {
  services: Pick<Services, "pricing" | "ledger" | "settings">;
  principal: KeyPrincipal;
  requestId: string;
  /** performance.now() when the request arrived, for the logged latency. */
  receivedAt: number;
  /** Batch lines are billed with the batch discount. */
  batchId?: string;
  onCharge?: (charge: Charge) => void;
}

export interface ChargeRequest {
  model: string;
  endpoint: string;
  dimension: PriceDimension;
  /**
   * The most the call can consume: sizes the hold. Without completionTokens (no max_tokens
   * in the request) the model's default output allowance is held, times `choices`.
   */
  maxUse: Metered;
  choices?: number;
  stream?: boolean;
}

export type CallOutcome = StreamOutcome | "failed";

/** The charge context of an HTTP call. */
export function chargeContext(call: Call<KeyPrincipal>): ChargeContext {
  return {
    services: call.services,
    principal: call.principal,
    requestId: call.request.id,
    receivedAt: call.request.receivedAt,
    batchId: call.batchId,
    onCharge: call.onCharge,
  };
}

/** Metered tokens from an upstream's usage object. */
export function meteredFromUsage(usage: Usage): Metered {
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}

/** A priced, held call that still has to be settled (or released) exactly once. */
export class Charge {
  private done = false;

  constructor(
    private readonly context: ChargeContext,
    private readonly request: ChargeRequest,
    private readonly price: ModelPrice,
    private readonly multipliers: number[],
    readonly hold: Hold,
  ) {}

  /** The cost of what was consumed, in units. */
  cost(metered: Metered): number {
    return costInUnits(this.price, metered, this.multipliers);
  }

  /** Settles to what was actually consumed and logs the call; runs at most once. */
  async settle(
    metered: Metered,
    result: { status: number; outcome: CallOutcome; channelId?: string },
  ): Promise<void> {
    if (this.done) return;
    this.done = true;
    const cost = result.outcome === "failed" ? 0 : this.cost(metered);
    const { key } = this.context.principal;
    await this.context.services.ledger.settle(this.hold, cost, {
      type: "consume",
      time: Date.now(),
      requestId: this.context.requestId,
      keyId: key.id,
      keyName: key.name,
      model: this.request.model,
      endpoint: this.request.endpoint,
      promptTokens: result.outcome === "failed" ? 0 : (metered.promptTokens ?? 0),
      completionTokens: result.outcome === "failed" ? 0 : (metered.completionTokens ?? 0),
      quota: cost,
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
}

/**
 * Holds the charge and opens the upstream call together, so the hold's round trip does not
 * delay the upstream. Nothing is returned, and so nothing reaches the client, until the hold
 * has succeeded; if it fails the upstream call is aborted. When the hold may fail (see
 * QuotaLedger.likelyCovers) it runs first, so a caller without quota costs no upstream call.
 */
export async function holdWhileOpening<U>(
  context: ChargeContext,
  request: ChargeRequest,
  /** Opens the upstream call; `signal` aborts it, before its answer or during it. */
  open: (signal: AbortSignal) => Promise<U>,
): Promise<{ charge: Charge; upstream: U }> {
  const { price, multipliers, holdUnits } = await quote(context, request);
  const likelyCovered = context.services.ledger.likelyCovers(context.principal, holdUnits);
  // The upstream request goes out first: it is the one the client waits for. Its bytes are
  // written on the next tick, so the hold's own request is built only after that.
  const refused = new AbortController();
  const opening = likelyCovered ? open(refused.signal) : undefined;
  const holding = context.services.ledger.hold(
    context.principal,
    holdUnits,
    opening ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined,
  );
  // Its failure is handled below, once the hold is known; not an unhandled rejection meanwhile.
  opening?.catch(() => {});
  let hold: Hold;
  try {
    hold = await holding;
  } catch (err) {
    refused.abort();
    throw err;
  }
  const charge = new Charge(context, request, price, multipliers, hold);
  context.onCharge?.(charge);
  try {
    return { charge, upstream: await (opening ?? open(refused.signal)) };
  } catch (err) {
    await charge.release(err instanceof Error && "status" in err ? Number(err.status) : 502);
    throw err;
  }
}

async function quote(context: ChargeContext, request: ChargeRequest) {
  const pricing = await context.services.pricing.get();
  const { price, multiplier } = priceFor(
    pricing,
    request.model,
    request.dimension,
    context.principal.user.group,
  );
  const multipliers = context.batchId ? [multiplier, pricing.batchDiscount] : [multiplier];
  const maxUse = { ...request.maxUse };
  if (request.dimension === "tokens" && maxUse.completionTokens === undefined) {
    maxUse.completionTokens =
      (price.defaultMaxTokens ?? pricing.defaultMaxTokens) * (request.choices ?? 1);
  }
  const holdUnits = context.services.settings.holds ? costInUnits(price, maxUse, multipliers) : 0;
  return { price, multipliers, holdUnits };
}
