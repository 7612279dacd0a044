import { isIP } from "node:net";
import { type AwsCredentials, signV4 } from "../../shared/aws/sigv4";
import {
  type DynamoOperation,
  DynamoServiceError,
  type DynamoTransport,
  TRANSIENT_ERRORS,
} from "../../shared/store/dynamo-transport";
import { type Http1Answer, Http1Pool } from "./http1-pool";

/** An attempt that got no answer in time: DynamoDB may or may not have applied it. */
export class DynamoAttemptTimeout extends Error {
  constructor(ms: number) {
    super(`DynamoDB did not answer within ${ms} ms`);
    this.name = "DynamoAttemptTimeout";
  }
}

/**
 * A lean DynamoDB client for the functions' hot path: the JSON protocol over keep-alive
 * connections (./http1-pool.ts, not node:http's client: a third of its CPU per request),
 * signed with SigV4, with the SDK's retry rules. It spends a fraction of the CPU the AWS SDK
 * spends per call (measured by `npm run bench`), and does not load the SDK.
 * Credentials come from the environment, as Lambda provides them.
 *
 * Each attempt has its own timeout: a DynamoDB that stops answering holds a call for a few
 * seconds, not for as long as it stays frozen. A retry after an attempt that got no answer
 * may repeat a write that had landed; sluice's ledger writes are conditional on their own
 * id for exactly that reason (see store/accounts.ts).
 */
export class DynamoHttpTransport implements DynamoTransport {
  private readonly url: URL;
  private readonly pool: Http1Pool;
  private readonly path: string;

  constructor(
    private readonly options: {
      region: string;
      /** e.g. DynamoDB Local; the regional endpoint otherwise. */
      endpoint?: string;
      credentials: () => AwsCredentials;
      maxAttempts?: number;
      /** How long one attempt may wait for its answer (default 2 s). */
      attemptTimeoutMs?: number;
    },
  ) {
    this.url = new URL(options.endpoint ?? `https://dynamodb.${options.region}.amazonaws.com/`);
    const https = this.url.protocol === "https:";
    const hostname = this.url.hostname.replace(/^\[|\]$/g, "");
    this.pool = new Http1Pool({
      https,
      hostname,
      port: Number(this.url.port || (https ? 443 : 80)),
      host: this.url.host,
      // No SNI for an address (as node sends none for one).
      servername: https && !isIP(hostname) ? hostname : "",
    });
    this.path = `${this.url.pathname}${this.url.search}`;
  }

  async send(
    operation: DynamoOperation,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const body = JSON.stringify(input);
    const attempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      let answer: { status: number; text: string };
      try {
        answer = await this.post(operation, body);
      } catch (err) {
        if (attempt >= attempts) throw err;
        await backoff(attempt);
        continue;
      }
      const parsed = parseAnswer(answer.text);
      if (answer.status === 200) return parsed;
      const type =
        String(parsed.__type ?? "")
          .split("#")
          .pop() || `HTTP${answer.status}`;
      if ((TRANSIENT_ERRORS.has(type) || answer.status >= 500) && attempt < attempts) {
        await backoff(attempt);
        continue;
      }
      throw new DynamoServiceError(
        type,
        String(parsed.message ?? parsed.Message ?? `DynamoDB answered ${answer.status}`),
        parsed.CancellationReasons as { Code?: string }[] | undefined,
        parsed.Item as Record<string, unknown> | undefined,
        { httpStatusCode: answer.status },
      );
    }
  }

  destroy(): void {
    this.pool.destroy();
  }

  private post(operation: DynamoOperation, body: string): Promise<Http1Answer> {
    const headers = signV4(
      {
        method: "POST",
        url: this.url,
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": `DynamoDB_20120810.${operation}`,
        },
        body,
      },
      { service: "dynamodb", region: this.options.region, credentials: this.options.credentials() },
    );
    const timeoutMs = this.options.attemptTimeoutMs ?? 2_000;
    return this.pool.post(
      this.path,
      headers,
      body,
      timeoutMs,
      () => new DynamoAttemptTimeout(timeoutMs),
    );
  }
}

/** DynamoDB answers JSON; anything else (a proxy's error page) reads as an empty answer. */
function parseAnswer(text: string): Record<string, unknown> {
  try {
    const value = text ? JSON.parse(text) : {};
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

function backoff(attempt: number): Promise<void> {
  // Full jitter on 25 ms × 2^attempt.
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
}
