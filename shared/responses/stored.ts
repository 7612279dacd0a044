import { randomBytes } from "node:crypto";
import type { KeyPrincipal } from "../auth/authenticate";
import { InvalidRequest, NotFound, Unavailable } from "../errors";
import { isObject, type JsonObject } from "../http/body";
import { MAX_ID_BYTES } from "../http/dispatch";
import type { Call } from "../http/route";
import type { StreamBridge } from "../relay/bridges/bridge";
import type { OpenUpstream } from "../relay/upstream";
import type { FoundResponse, StoredContent, StoredResponse } from "../store/stored-responses";

/*
 * Stored responses (`store`, true unless the client says false, as at OpenAI): what sluice
 * keeps of each, so that `GET /v1/responses/{id}`, `input_items`, `DELETE` and a follow-up's
 * `previous_response_id` reach it. A response passed through to a Responses-native channel
 * is the upstream's to keep: sluice records whose it is and which channel holds it (its id
 * read from the answer as it passes, no byte changed). A bridged one sluice minted itself
 * and keeps whole: the Response object and the input items it was given.
 */

const DAY_SECONDS = 86_400;
/** The events that end a Responses stream. */
const FINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);
/** The longest chain of bridged responses rebuilt into one request. */
const MAX_CHAIN = 100;

/** OpenAI's 404 for a response that is not there, someone else's, or expired (alike). */
export function noSuchResponse(id: string): NotFound {
  return new NotFound(`Response with id '${id}' not found.`, "response_id");
}

function noSuchPrevious(id: string): NotFound {
  return new NotFound(`Previous response with id '${id}' not found.`, "previous_response_id");
}

/** The user's own live stored response, or the 404 OpenAI answers. */
export async function ownResponse(call: Call<KeyPrincipal>, id: string): Promise<FoundResponse> {
  const { storedResponses, clock } = call.services;
  const record = await storedResponses.find(id, call.principal.user.id, clock.seconds());
  if (!record) throw noSuchResponse(id);
  return record;
}

/**
 * What a call's `previous_response_id` continues: the stored response (the caller's own, or a
 * 404 before anything is held or sent), and for a bridged one the conversation so far, as
 * input items (each earlier response's input, then its output, oldest first). The earlier
 * responses' `instructions` are not carried over (OpenAI: "the instructions from a previous
 * response will not be carried over to the next response").
 */
export interface Continuation {
  record: FoundResponse;
  /** Bridged: the items of the chain, to go before the call's own input. */
  history?: JsonObject[];
}

export async function continuationOf(
  call: Call<KeyPrincipal>,
  body: JsonObject,
): Promise<Continuation | undefined> {
  const id = body.previous_response_id;
  if (id === undefined || id === null) return undefined;
  if (typeof id !== "string" || id === "")
    throw new InvalidRequest(
      "Invalid type for 'previous_response_id': expected a string.",
      "previous_response_id",
      "invalid_type",
    );
  // No stored id is that long (a key DynamoDB would refuse): not found, as a path's id is.
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw noSuchPrevious(id.slice(0, 64));
  const { storedResponses, clock } = call.services;
  const userId = call.principal.user.id;
  const now = clock.seconds();
  const record = await storedResponses.find(id, userId, now);
  if (!record) throw noSuchPrevious(id);
  if (record.kind === "native") return { record };
  const chain: FoundResponse[] = [record];
  for (let at = record; at.previousResponseId && chain.length < MAX_CHAIN; ) {
    const earlier = await storedResponses.find(at.previousResponseId, userId, now);
    // A response deleted (or expired) from the chain ends what is remembered, as at OpenAI.
    if (earlier?.kind !== "bridged") break;
    chain.push(earlier);
    at = earlier;
  }
  const history: JsonObject[] = [];
  for (const turn of chain.reverse()) {
    const content = await storedResponses.content(turn);
    if (!content) continue;
    history.push(...content.input);
    const output = content.response.output;
    if (Array.isArray(output)) history.push(...output.filter(isObject));
  }
  return { record, history };
}

/** The error of a follow-up whose holding channel cannot take it: never another channel. */
export function holderUnavailable(record: StoredResponse): Unavailable {
  return new Unavailable(
    `The channel that holds response '${record.id}' is not available (removed, disabled or no longer serving the model), and only it has that response: send the whole conversation as input instead of previous_response_id.`,
    "previous_response_unavailable",
  );
}

/**
 * A bridged follow-up's body: the chain's items before its own input, without
 * `previous_response_id` (the chat channel keeps nothing; the conversation goes whole).
 */
export function withHistory(body: JsonObject, history: JsonObject[]): JsonObject {
  const { previous_response_id: _previous, ...rest } = body;
  return { ...rest, input: [...history, ...inputItemsOf(body.input)] };
}

/** An id for an input item that came without one (a string input, an easy message). */
const itemId = (prefix: string) => `${prefix}_${randomBytes(16).toString("hex")}`;

/**
 * A request's `input` as stored input items (OpenAI's input_items list them): a string is one
 * user message; messages given as role and string content get `type`, an id and content
 * parts; other items keep their own fields, with an id when they had none.
 */
export function inputItemsOf(input: unknown): JsonObject[] {
  if (typeof input === "string")
    return [
      {
        id: itemId("msg"),
        type: "message",
        role: "user",
        status: "completed",
        content: [{ type: "input_text", text: input }],
      },
    ];
  if (!Array.isArray(input)) return [];
  return input.filter(isObject).map((item) => {
    const message = item.type === undefined || item.type === "message";
    if (!message) return typeof item.id === "string" ? item : { id: itemId("item"), ...item };
    const text = item.role === "assistant" ? "output_text" : "input_text";
    return {
      id: typeof item.id === "string" ? item.id : itemId("msg"),
      type: "message",
      ...item,
      content:
        typeof item.content === "string" ? [{ type: text, text: item.content }] : item.content,
    };
  });
}

/**
 * Keeps one call's response as it passes, when `store` is not false: a native one's record
 * from its id (the JSON answer's, or the stream's `response.created`), a bridged one whole
 * from its final Response. `pending` is the write under way: the face waits for it before
 * the final event (or the JSON answer) goes out, so a client that reads the answer and asks
 * for the response at once finds it.
 */
export class ResponseKeeper {
  pending: Promise<void> = Promise.resolve();
  /** The final event (or a background response's first) was seen: what goes out waits for `pending`. */
  final = false;
  /** The id the bridge gives a bridged response: the same in every event and in the record. */
  readonly bridgedId = `resp_${randomBytes(24).toString("hex")}`;

  constructor(
    private readonly call: Call<KeyPrincipal>,
    private readonly body: JsonObject,
    private readonly continuation: Continuation | undefined,
  ) {}

  /** store: false keeps nothing (Codex sends it: it resends the whole history every turn). */
  get stores(): boolean {
    return this.body.store !== false;
  }

  /** A native response's record, from the answer (or `response.created`'s response). */
  native(upstream: Pick<OpenUpstream, "channel" | "upstreamModel">, response: unknown): void {
    if (!this.stores || !isObject(response) || typeof response.id !== "string") return;
    this.keep(this.record("native", response.id, upstream, response.created_at), undefined);
  }

  /**
   * A passed-through stream's event: its `response.created` is the response's record; its
   * final event makes what follows wait for that record. A background response's
   * `response.created` waits too: its id is there to be polled at once (a client may leave
   * the stream right after it and retrieve the response by id).
   */
  watch(upstream: Pick<OpenUpstream, "channel" | "upstreamModel">, event: JsonObject): void {
    if (event.type === "response.created") {
      this.native(upstream, event.response);
      if (this.body.background === true) this.final = true;
    } else if (FINAL.has(String(event.type))) this.final = true;
  }

  /** A bridged response, whole, with the input items it was given. */
  bridged(upstream: Pick<OpenUpstream, "channel" | "upstreamModel">, response: unknown): void {
    this.final = true;
    if (!this.stores || !isObject(response) || response.id !== this.bridgedId) return;
    const content: StoredContent = { response, input: inputItemsOf(this.body.input) };
    this.keep(this.record("bridged", this.bridgedId, upstream, response.created_at), content);
  }

  private record(
    kind: StoredResponse["kind"],
    id: string,
    upstream: Pick<OpenUpstream, "channel" | "upstreamModel">,
    created: unknown,
  ): StoredResponse {
    const { principal, services } = this.call;
    const createdAt = typeof created === "number" ? created : services.clock.seconds();
    const previous = this.continuation?.record.id;
    return {
      id,
      userId: principal.user.id,
      keyId: principal.key.id,
      kind,
      channelId: upstream.channel.id,
      model: typeof this.body.model === "string" ? this.body.model : upstream.upstreamModel,
      upstreamModel: upstream.upstreamModel,
      // Retention counts from when sluice stored it, whatever the upstream's clock says.
      createdAt,
      expiresAt: services.clock.seconds() + services.settings.responseRetentionDays * DAY_SECONDS,
      ...(previous && { previousResponseId: previous }),
    };
  }

  private keep(record: StoredResponse, content: StoredContent | undefined): void {
    const { services } = this.call;
    this.pending = this.pending.then(() =>
      services.storedResponses.save(record, content).catch((err: unknown) => {
        // The client has its answer; only a later GET or follow-up will miss it.
        services.log.warn("stored response not kept", { id: record.id, error: String(err) });
      }),
    );
  }
}

/**
 * A stream's bytes, passed on as they come but for the chunk with the final event, which
 * waits for the keeper's write (a native stream's began at `response.created`, so it is long
 * done by then; a bridged one's began with the final event itself). The first bytes wait
 * for the store only in a background response, whose id is given out to be polled.
 */
export async function* afterKept(
  body: AsyncIterable<Uint8Array>,
  keeper: ResponseKeeper,
): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    if (keeper.final) await keeper.pending;
    yield chunk;
  }
}

/** A bridge's stream whose final Response (in the text it writes) is shown to `seen`. */
export function watchedBridge(
  bridge: StreamBridge,
  seen: (response: unknown) => void,
): StreamBridge {
  const scan = (text: string) => {
    for (const line of text.split("\n")) {
      if (!line.startsWith("data: ") || !FINAL_TYPE.test(line)) continue;
      try {
        const data: unknown = JSON.parse(line.slice(6));
        if (isObject(data) && FINAL.has(String(data.type))) seen(data.response);
      } catch {
        // Not JSON: the bridge writes none such.
      }
    }
    return text;
  };
  return {
    push: (events) => scan(bridge.push(events)),
    end: () => {
      const ended = bridge.end();
      scan(ended.text);
      return ended;
    },
    broken: (message) => scan(bridge.broken(message)),
    metered: () => bridge.metered(),
  };
}

const FINAL_TYPE = /"type":\s*"response\.(completed|incomplete|failed)"/;
