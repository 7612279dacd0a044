/**
 * Calls to the management API: its one-api envelope read, a refusal turned into ApiCallFailed
 * (status, code, message) and a network failure into one sentence.
 */
import type { CliIo, Data } from "./command";
import { type Connection, connection } from "./credentials";

/** The server refused: its status, its message and, when it gives one, its message code. */
export class ApiCallFailed extends Error {
  constructor(
    readonly status: number,
    /** What was refused: `POST /api/user/`. */
    readonly what: string,
    /** What the server said (its English). */
    readonly said: string,
    readonly code?: string,
    readonly params?: Record<string, unknown>,
    /** Where the token came from: a 401 on a stored one advises `sluice login`. */
    readonly connection?: Connection,
  ) {
    super(`${what}: ${said}`);
  }
}

/** A body sent as its bytes (an image), not as JSON. */
export class RawBody {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Calls the API over the options' connection (resolved at the call, not before), answering
 * the whole envelope (`data` and what is beside it, e.g. `next_cursor`).
 */
export function requester(options: { url?: unknown; token?: unknown }, io: CliIo) {
  return async (method: string, path: string, body?: unknown): Promise<Data> => {
    const to = connection(options, io.env);
    let response: Response;
    try {
      response = await io.fetch(`${to.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${to.token}`,
          ...(body === undefined
            ? {}
            : {
                "content-type":
                  body instanceof RawBody ? "application/octet-stream" : "application/json",
              }),
        },
        body:
          body === undefined
            ? undefined
            : body instanceof RawBody
              ? body.bytes
              : JSON.stringify(body),
      });
    } catch (err) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a bad host) is its cause.
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      throw new Error(`Cannot reach ${to.url}: ${cause ?? (err as Error).message}`);
    }
    return envelope(response, `${method} ${path.split("?")[0]}`, to);
  };
}

/** The envelope, or ApiCallFailed saying what `what` was refused for. */
export async function envelope(response: Response, what: string, to?: Connection): Promise<Data> {
  const answer = (await response.json().catch(() => ({}))) as {
    success?: boolean;
    message?: string;
    code?: string;
    params?: Record<string, unknown>;
    data?: unknown;
    error?: { message?: string; code?: string };
  };
  if (!response.ok || answer.success === false) {
    const message = answer.message || answer.error?.message || `HTTP ${response.status}`;
    throw new ApiCallFailed(
      response.status,
      what,
      message,
      answer.code ?? answer.error?.code ?? undefined,
      answer.params,
      to,
    );
  }
  return answer;
}

/** What a call answers: the envelope's `data` (the envelope itself when it has none). */
export const dataOf = (answer: Data): Data => answer.data ?? answer;

/** Every page of a listing: `size` 100 at a time until a page comes back short. */
export async function listAll(
  call: (method: string, path: string) => Promise<Data>,
  path: string,
  query: Record<string, string | undefined> = {},
): Promise<Data[]> {
  const rows: Data[] = [];
  for (let p = 0; ; p++) {
    const params = new URLSearchParams({ p: String(p), size: "100" });
    for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
    const page = (await call("GET", `${path}?${params}`)) as Data[];
    rows.push(...page);
    if (page.length < 100) return rows;
  }
}
