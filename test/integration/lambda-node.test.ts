/**
 * The local stack on the Node.js that Lambda runs (22), beside the machine's: the tests run on
 * the machine's Node, and some of what the local function URL server does behaves differently
 * in 22. Found by the share bench on Node 22: a response streamed and ended in one turn of
 * the event loop reached the client with its last chunk ahead of the chunks still corked, which
 * clients read as a broken response.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { installedOrSkip, LAMBDA_NODE_VERSION, lambdaNode } from "../fixtures/cli-cache";
import { EVENTS } from "../fixtures/stream-server-child";

/** The child server on `node`, and its URL. */
async function serve(node: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    node,
    ["--import", "tsx", new URL("../fixtures/stream-server-child.ts", import.meta.url).pathname],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [url] = (await once(lines, "line")) as [string];
  return { child, url };
}

/** The raw response, over a plain HTTP/1.1 connection: status, and the body as it came. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.once("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.once("error", reject);
    });
    req.once("error", reject);
    req.end();
  });
}

describe("the local function URL server on Lambda's Node.js", () => {
  it(`streams a response written and ended in one turn whole, on Node ${LAMBDA_NODE_VERSION} as on this one`, {
    timeout: 600_000,
  }, async (context) => {
    const lambda = await installedOrSkip(context, lambdaNode);
    for (const node of [process.execPath, lambda.binary]) {
      const { child, url } = await serve(node);
      try {
        for (let i = 0; i < 5; i++) {
          expect(await get(url), node).toEqual({ status: 200, body: EVENTS.join("") });
        }
      } finally {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
    }
  });
});
