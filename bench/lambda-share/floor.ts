/**
 * The floor of sluice's design, run in the API function's place (`BENCH_TARGET=floor`): what
 * any relay must spend that keeps sluice's money rules, and nothing else. A streaming handler
 * that relays the call to the upstream as the bare proxy does, with sluice's three DynamoDB
 * writes around it through sluice's own client (SigV4-signed, keep-alive): one while the
 * upstream call opens, which the answer waits for (the hold, as billing/charge.ts's
 * holdWhileOpening), two after the answer (the usage line, the settlement); and one JSON
 * access line in one write to stdout. Those writes go to one item of its own
 * (`BENCH#floor`), which nothing reads.
 *
 * Against the proxy it tells what the design costs at a memory size's share; against sluice,
 * what sluice's own code adds to it. With BENCH_FLOOR_BARE=1 in the function's environment
 * (BENCH_FUNCTION_ENV) it relays with nothing else: what the Lambda runtime's streaming
 * handler costs (the shim) beside a plain proxy.
 */
import { Agent, request } from "node:http";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { functionTable } from "../../functions/adapters/services";

const upstream = new URL(process.env.UPSTREAM_URL as string);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const table = functionTable();
const item = { pk: "BENCH#floor", sk: "ACCOUNT" };

const bare = process.env.BENCH_FLOOR_BARE === "1";

async function write(field: string): Promise<unknown> {
  if (bare) return;
  // The field through a name placeholder: `lines`, like many words, is reserved in DynamoDB.
  return table.update(item, {
    update: "ADD #field :one",
    names: { "#field": field },
    values: { ":one": 1 },
  });
}

function accessLine(event: LambdaFunctionURLEvent, status: number, startedAt: number): string {
  return `${JSON.stringify({
    level: "INFO",
    message: "access",
    timestamp: new Date().toISOString(),
    service: "sluice",
    requestId: event.requestContext.requestId,
    method: event.requestContext.http.method,
    path: event.rawPath,
    status,
    totalMs: performance.now() - startedAt,
  })}\n`;
}

export const handler = awslambda.streamifyResponse(
  async (event: LambdaFunctionURLEvent, responseStream) => {
    const startedAt = performance.now();
    const body = event.body
      ? Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8")
      : Buffer.alloc(0);
    const held = write("holds");
    held.catch(() => {}); // Failed, it fails the call once the answer comes.
    const status = await new Promise<number>((resolve, reject) => {
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: event.rawPath,
          method: event.requestContext.http.method,
          headers: { "content-type": "application/json", "content-length": body.length },
          agent,
        },
        (answer) => {
          // Nothing reaches the client before the hold has landed.
          held.then(() => {
            const out = awslambda.HttpResponseStream.from(responseStream, {
              statusCode: answer.statusCode ?? 502,
              headers: { "content-type": String(answer.headers["content-type"] ?? "") },
            });
            answer.pipe(out);
            out.once("finish", () => resolve(answer.statusCode ?? 502));
            out.once("error", reject);
          }, reject);
        },
      );
      forward.once("error", reject);
      forward.end(body);
    });
    await write("lines");
    await write("settlements");
    if (!bare) process.stdout.write(accessLine(event, status, startedAt));
  },
);
