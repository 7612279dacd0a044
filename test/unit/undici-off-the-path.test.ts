import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

/**
 * The functions' upstream client (functions/adapters/upstream-http.ts) sends a JSON or byte body
 * without Node's fetch: reading the `FormData`, `Response` or `fetch` globals loads undici,
 * which a cold start's first call pays for (about 0.6 s at 128 MB's CPU share). A
 * fresh process (this worker has undici loaded already) sends both kinds of body and says
 * whether undici was loaded before, after them, and after a multipart body (which does use it).
 */
const run = promisify(execFile);

const SCRIPT = `
import { createServer } from "node:http";
import { upstreamHttpFetch } from "./functions/adapters/upstream-http.ts";
const loaded = () => process.moduleLoadList.some((m) => m.includes("undici"));
const server = createServer((req, res) => { req.resume(); req.on("end", () => res.end("{}")); });
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = "http://127.0.0.1:" + server.address().port + "/v1/chat/completions";
const send = upstreamHttpFetch();
const seen = { before: loaded() };
for (const body of ['{"model":"m"}', new TextEncoder().encode('{"model":"m"}')]) {
  const answer = await send(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  for await (const _ of answer.body ?? []) {}
}
seen.afterJson = loaded();
const form = new FormData();
form.set("model", "whisper-1");
const answer = await send(url, { method: "POST", headers: {}, body: form });
for await (const _ of answer.body ?? []) {}
seen.afterForm = loaded();
server.close();
console.log(JSON.stringify(seen));
`;

describe("a call's upstream request", () => {
  it("loads Node's fetch (undici) only for a multipart body", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", SCRIPT],
      { cwd: process.cwd() },
    );
    expect(JSON.parse(stdout)).toEqual({ before: false, afterJson: false, afterForm: true });
  });
});
