import { beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../shared/api";
import { isMessageCode } from "../../shared/messages/render";
import { accountKey } from "../../shared/store/accounts";
import { createUserWithKey, sluice, sluiceTable, type TestUser } from "./support";

/**
 * Every route, fed random and mutated bodies (JSON, multipart, JSONL, bytes), odd ids and odd
 * headers, by a zero-balance user. Each answer must be in its API's envelope with a status
 * that fits (never 500), the stack must stay up, and nothing may be stored for a refusal.
 * Seeded and bounded: the same requests every run.
 */
const SEED = 0x5eed_1e55;
const REQUESTS = 400;
const CONCURRENCY = 6;

/** mulberry32: a small seeded generator, so every run sends the same requests. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}
type Random = ReturnType<typeof generator>;

const ODD_STRINGS = [
  "",
  " ",
  "résumé-файл.jsonl",
  '"quoted"\r\n',
  "../../etc/passwd",
  "\u0000",
  "\ud800",
  "😀".repeat(40),
  "x".repeat(3_000),
  "é".repeat(1_100),
  "gpt-4o-mini",
  "file-000000000000000000000000",
  "batch_000",
  "sk-xyz",
  "$" + "{jndi:x}",
  "<script>",
  "1e309",
];
const ODD_NUMBERS = [
  0,
  -1,
  1,
  0.5,
  -0,
  1e11,
  1e300,
  -1e300,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 1,
  4_294_967_296,
  3.000000001,
];
/** Fields the routes read, so mutations reach the checks behind the first one. */
const FIELDS = [
  "model",
  "messages",
  "prompt",
  "input",
  "max_tokens",
  "max_completion_tokens",
  "n",
  "stream",
  "temperature",
  "size",
  "quality",
  "voice",
  "instruction",
  "filename",
  "purpose",
  "bytes",
  "mime_type",
  "part_ids",
  "md5",
  "input_file_id",
  "endpoint",
  "completion_window",
  "metadata",
  "expires_after",
  "output_expires_after",
  "name",
  "remain_quota",
  "unlimited_quota",
  "expired_time",
  "models",
  "status",
  "quota",
  "dollars",
  "bucket",
  "count",
  "key",
  "username",
  "password",
  "display_name",
  "group",
  "base_url",
  "type",
  "priority",
  "weight",
  "model_mapping",
  "id",
];

function randomValue(random: Random, depth = 0): unknown {
  switch (random.int(depth > 3 ? 4 : 7)) {
    case 0:
      return random.pick(ODD_STRINGS);
    case 1:
      return random.pick(ODD_NUMBERS);
    case 2:
      return random.pick([true, false, null]);
    case 3:
      return random.pick(["gpt-4o-mini", "user", "batch", "/v1/chat/completions", "24h", "paid"]);
    case 4:
      return Array.from({ length: random.int(4) }, () => randomValue(random, depth + 1));
    case 5:
      return randomObject(random, depth + 1);
    default:
      return [{ role: random.pick(["user", "system", "x"]), content: randomValue(random, 4) }];
  }
}

function randomObject(random: Random, depth = 0): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = random.int(6); i > 0; i--) object[random.pick(FIELDS)] = randomValue(random, depth);
  return object;
}

/** A body that is plausible at first sight, with one thing wrong (or nothing). */
function mutatedBody(random: Random): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "hi" }],
    prompt: "hi",
    input: "hi",
    filename: "a.jsonl",
    purpose: "batch",
    bytes: 10,
    mime_type: "text/jsonl",
    input_file_id: "file-x",
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
    name: "fuzz",
  };
  for (let i = 1 + random.int(3); i > 0; i--) body[random.pick(FIELDS)] = randomValue(random);
  return body;
}

const deep = (levels: number) => `${'{"a":['.repeat(levels)}1${"]}".repeat(levels)}`;

function multipart(random: Random): { body: Uint8Array; contentType: string } | FormData {
  const form = new FormData();
  for (let i = random.int(4); i > 0; i--) {
    const name = random.pick(["file", "purpose", "model", "data", "expires_after[seconds]", "x"]);
    if (random.next() < 0.5) {
      const content = random.pick([
        "",
        deep(200),
        '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}',
        "\u0000\u00ff".repeat(100),
      ]);
      form.append(name, new Blob([content]), random.pick(ODD_STRINGS.slice(0, 9)) || "f.jsonl");
    } else form.append(name, String(randomValue(random, 4)));
  }
  if (random.next() < 0.6) return form;
  // Broken by hand: a cut body, a wrong boundary, filename*=, a backslash escape.
  const boundary = "fuzzboundary";
  const part = random.pick([
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''%C3%A9.jsonl\r\n\r\nx\r\n--${boundary}--\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a\\"b"\r\n\r\nx\r\n--${boundary}--\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\nxyz`,
    `--other\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--other--\r\n`,
    "",
  ]);
  return {
    body: Buffer.from(part),
    contentType: random.pick([
      `multipart/form-data; boundary=${boundary}`,
      "multipart/form-data",
      "multipart/form-data; boundary=",
    ]),
  };
}

function randomBody(random: Random): {
  body?: Uint8Array | string | FormData;
  contentType?: string;
} {
  switch (random.int(8)) {
    case 0:
      return {};
    case 1:
      return { body: JSON.stringify(randomObject(random)), contentType: "application/json" };
    case 2:
    case 3:
      return { body: JSON.stringify(mutatedBody(random)), contentType: "application/json" };
    case 4:
      return { body: deep(random.pick([65, 500, 20_000])), contentType: "application/json" };
    case 5: {
      const form = multipart(random);
      return form instanceof FormData
        ? { body: form }
        : { body: form.body, contentType: form.contentType };
    }
    case 6:
      return {
        body: random.pick([
          '{"custom_id":"a"}\n{not json\n',
          "[1,2",
          "null",
          '"string"',
          "1e999",
          '{"model":"gpt-4o-mini","messages":[],"max_tokens":1e300}',
        ]),
        contentType: random.pick(["application/json", "application/jsonl", "text/plain"]),
      };
    default:
      return {
        body: Buffer.from(Array.from({ length: random.int(300) }, () => random.int(256))),
        contentType: random.pick(["application/octet-stream", "application/json", "image/png"]),
      };
  }
}

/** Percent-encoded; a lone surrogate becomes the bytes it would be (not valid UTF-8). */
const encode = (value: string) => {
  try {
    return encodeURIComponent(value);
  } catch {
    return "%ED%A0%80";
  }
};

/** A route's path with its parameters filled by odd ids (percent-encoded, as a client sends). */
function randomPath(random: Random, template: string): string {
  const path = template.replace(/:(\w+)\*?/g, () =>
    encode(
      random.pick([...ODD_STRINGS, "file-abc", "upload_abc", "1", "-1", "99999999999999999999"]),
    ),
  );
  if (random.next() < 0.3) {
    const [name, value] = [
      random.pick(["after", "limit", "order", "cursor", "p", "size", "purpose", "model", "start"]),
      random.pick([...ODD_STRINGS, "-5", "1e400", "NaN", "10001", "%zz", "eyJkYXRlIjoxfQ", "_-_-"]),
    ];
    return `${path}?${encode(name)}=${encode(value)}`;
  }
  return path;
}

/** Routes fuzzed as the zero-balance user; sign-in and token rotation would lock it or others out. */
const SKIPPED = new Set([
  "POST /api/user/login",
  "POST /api/user/register",
  "POST /api/user/token",
]);

interface Answer {
  method: string;
  path: string;
  status: number;
  text: string;
}

function checkAnswer(answer: Answer): string | undefined {
  const { method, path, status, text } = answer;
  const where = `${method} ${path.slice(0, 120)} → ${status} ${text.slice(0, 200)}`;
  if (status === 500 || (status > 504 && status < 600) || status === 501)
    return `server error: ${where}`;
  if (status < 400) return undefined;
  let body: {
    success?: unknown;
    message?: unknown;
    code?: unknown;
    error?: { message?: unknown; type?: unknown };
  };
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON: ${where}`;
  }
  if (path.startsWith("/api/")) {
    if (body.success !== false || typeof body.message !== "string")
      return `not one-api's envelope: ${where}`;
    // Every refusal on /api has a message code the console can word (shared/messages).
    if (!isMessageCode(body.code)) return `no message code in the catalogue: ${where}`;
  } else if (typeof body.error?.message !== "string" || typeof body.error?.type !== "string") {
    return `not OpenAI's envelope: ${where}`;
  }
  return undefined;
}

describe("fuzzing every route", () => {
  let user: TestUser & { secret: string };

  beforeAll(async () => {
    user = await createUserWithKey({ paidUsd: 0 });
  });

  it("answers bad input in the right envelope with a fitting status, stays up and stores nothing", async () => {
    const random = generator(SEED);
    const fuzzed = routes.filter((route) => !SKIPPED.has(`${route.method} ${route.path}`));
    const requests = Array.from({ length: REQUESTS }, () => {
      const route = random.pick(fuzzed);
      const path = randomPath(random, route.path);
      const { body, contentType } = randomBody(random);
      const headers: Record<string, string> = {};
      if (contentType) headers["content-type"] = contentType;
      const auth = random.int(10);
      // The admin only reads (log cursors, other users' ids): a write would change the site.
      const asAdmin = route.method === "GET" && random.next() < 0.3;
      const token = path.startsWith("/api/")
        ? asAdmin
          ? sluice.adminToken
          : user.accessToken
        : user.secret;
      if (auth < 8) headers.authorization = `Bearer ${token}`;
      else if (auth === 8)
        headers.authorization = random.pick(["Bearer ", "Basic x", "Bearer sk-é"]);
      if (random.next() < 0.1) headers["reduce-stream"] = "true";
      if (random.next() < 0.05) headers["x-csrf-token"] = "x".repeat(random.int(100));
      return {
        method: route.method,
        path,
        body: route.method === "GET" ? undefined : body,
        headers,
      };
    });

    const failures: string[] = [];
    let sent = 0;
    const worker = async () => {
      for (;;) {
        const request = requests[sent++];
        if (!request) return;
        const response = await fetch(`${sluice.url}${request.path}`, {
          method: request.method,
          headers: Object.fromEntries(
            Object.entries(request.headers).map(([k, v]) => [k, Buffer.from(v).toString("latin1")]),
          ),
          body: request.body,
        });
        const text = await response.text();
        const failure = checkAnswer({ ...request, status: response.status, text });
        if (failure) failures.push(failure);
        if (sent % 100 === 0) {
          const health = await fetch(`${sluice.url}/api/status`);
          expect(health.status).toBe(200);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures).toEqual([]);

    // Still up.
    expect((await fetch(`${sluice.url}/api/status`)).status).toBe(200);
    // Nothing charged: the user had nothing, and nothing was held or spent.
    const account = await sluiceTable().get<Record<string, unknown>>(accountKey(user.id), true);
    expect(account?.available ?? 0).toBe(0);
    expect(Object.keys(account ?? {}).filter((name) => name.startsWith("h_"))).toEqual([]);
    // Files: the count kept for the user is exactly the files it has (none half-stored).
    const stored = await fetch(`${sluice.url}/v1/files`, {
      headers: { authorization: `Bearer ${user.secret}` },
    }).then((r) => r.json() as Promise<{ data: unknown[] }>);
    const usage = await sluiceTable().get<{ fileCount?: number }>(
      { pk: `USER#${user.id}`, sk: "FILE_USAGE" },
      true,
    );
    expect(usage?.fileCount ?? 0).toBe(stored.data.length);
  }, 180_000);
});
