import type { KeyPrincipal } from "../auth/authenticate";
import { MIN_OUTPUT_TOKENS, quote } from "../billing/charge";
import type { Metered } from "../billing/metered";
import {
  chatPromptBound,
  completionPromptBound,
  embeddingInputBound,
  imageFormulaFor,
} from "../billing/prompt-bound";
import { ModelUnavailable, QuotaExceeded } from "../errors";
import { nestsDeeperThan } from "../json-limits";
import { servedModel } from "../relay/adapters/index";
import type { Services } from "../services";
import type { FileRecord } from "../store/file-records";

/** The first line is read from at most this much of the file. */
const FIRST_LINE_BYTES = 1024 * 1024;

/**
 * Refuses a batch whose owner cannot pay for even one of its lines (its first, with the
 * smallest useful answer), before anything is stored or queued: a batch of a thousand lines
 * from an empty account would otherwise be accepted and every line attempted. Balances are
 * read afresh. A first line whose model has no price is refused, naming it (403, as a call
 * would be); one that cannot be read, or names a model no channel serves, is left to
 * validation.
 */
export async function requireOneLineCovered(
  services: Services,
  principal: KeyPrincipal,
  endpoint: string,
  file: FileRecord,
): Promise<void> {
  const body = await firstRequestBody(services, file);
  const model = typeof body?.model === "string" ? body.model : undefined;
  if (!body || !model) return;
  const maxUse: Metered = {
    inputTokens:
      endpoint === "/v1/chat/completions"
        ? chatPromptBound(body, imageFormulaFor(model))
        : endpoint === "/v1/completions"
          ? completionPromptBound(body)
          : embeddingInputBound(body.input),
  };
  const answers = endpoint !== "/v1/embeddings";
  // Not a model any channel serves: the line fails in validation or when it runs.
  const channels = await services.channelDirectory.candidates(model);
  if (channels.length === 0) return;
  let units: number;
  try {
    ({ holdUnits: units } = await quote(
      { services, principal, requestId: "", receivedAt: 0, batchId: "new" },
      {
        model,
        endpoint,
        dimension: "tokens",
        maxUse,
        ...(answers ? { output: { requested: MIN_OUTPUT_TOKENS, choices: 1 } } : {}),
        servedAs: channels.map((channel) => servedModel(channel, model)),
      },
      Number.POSITIVE_INFINITY,
    ));
  } catch (err) {
    // A model without a price is refused now, by name, not line by line later.
    if (err instanceof ModelUnavailable) throw err;
    return; // A first line that cannot be priced (a bad field): validation says why.
  }
  const [user, key] = await Promise.all([
    services.users.get(principal.user.id, true),
    services.apiKeys.get(principal.key.id, true),
  ]);
  const available = user?.account.available ?? 0;
  if (available < units || available <= 0) throw new QuotaExceeded("user", undefined, available);
  if (key && !key.unlimitedQuota && key.remainQuota < units)
    throw new QuotaExceeded("key", key.masked, key.remainQuota);
}

async function firstRequestBody(
  services: Services,
  file: FileRecord,
): Promise<Record<string, unknown> | undefined> {
  const stream = await services.blobs.open(file.blobKey);
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk));
    size += chunk.byteLength;
    if (size >= FIRST_LINE_BYTES || Buffer.from(chunk).includes(10)) break;
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const line = text.split(/\r?\n/).find((row) => row.trim() !== "");
  // A line nested too deep fails validation; it is not priced here.
  if (line === undefined || nestsDeeperThan(line)) return undefined;
  try {
    const parsed = JSON.parse(line);
    return parsed && typeof parsed.body === "object" ? parsed.body : undefined;
  } catch {
    return undefined;
  }
}
