import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import {
  type DynamoOperation,
  DynamoServiceError,
  type DynamoTransport,
} from "../../shared/store/dynamo-transport";
import { type AwsCredentials, signV4 } from "../../shared/store/sigv4";

/** Errors worth another try, as the AWS SDK's standard retry strategy has them. */
const RETRYABLE = new Set([
  "ThrottlingException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "LimitExceededException",
]);

/**
 * A lean DynamoDB client for the functions' hot path: the JSON protocol over a keep-alive
 * connection, signed with SigV4, with the SDK's retry rules. It spends a fraction of the CPU
 * the AWS SDK spends per call (measured by `npm run bench`), and does not load the SDK.
 * Credentials come from the environment, as Lambda provides them.
 */
export class DynamoHttpTransport implements DynamoTransport {
  private readonly url: URL;
  private readonly agent: HttpAgent | HttpsAgent;

  constructor(
    private readonly options: {
      region: string;
      /** e.g. DynamoDB Local; the regional endpoint otherwise. */
      endpoint?: string;
      credentials: () => AwsCredentials;
      maxAttempts?: number;
    },
  ) {
    this.url = new URL(options.endpoint ?? `https://dynamodb.${options.region}.amazonaws.com/`);
    const Agent = this.url.protocol === "https:" ? HttpsAgent : HttpAgent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 128 });
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
      const parsed = answer.text ? (JSON.parse(answer.text) as Record<string, unknown>) : {};
      if (answer.status === 200) return parsed;
      const type =
        String(parsed.__type ?? "")
          .split("#")
          .pop() || `HTTP${answer.status}`;
      if ((RETRYABLE.has(type) || answer.status >= 500) && attempt < attempts) {
        await backoff(attempt);
        continue;
      }
      throw new DynamoServiceError(
        type,
        String(parsed.message ?? parsed.Message ?? `DynamoDB answered ${answer.status}`),
        parsed.CancellationReasons as { Code?: string }[] | undefined,
      );
    }
  }

  destroy(): void {
    this.agent.destroy();
  }

  private post(
    operation: DynamoOperation,
    body: string,
  ): Promise<{ status: number; text: string }> {
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
    const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          headers: { ...headers, "content-length": Buffer.byteLength(body) },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}

/** Credentials from the environment (Lambda sets these for the function's role). */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): () => AwsCredentials {
  return () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them for the function's role)",
      );
    }
    return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN };
  };
}

function backoff(attempt: number): Promise<void> {
  // Full jitter on 25 ms × 2^attempt.
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
}
