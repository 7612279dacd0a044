/**
 * Counts the DynamoDB calls of warm requests to a local stack started in this process:
 * those made before the response's first byte and those after its last. Pass `observer`
 * to startLocalStack as its responseObserver, and keep the janitor from sweeping meanwhile
 * (JANITOR_OFF_MS), or its calls count among the requests'.
 */
import { Table } from "../shared/store/table";

export const JANITOR_OFF_MS = 24 * 3_600_000;

export class DynamoCallCounter {
  private atFirstByte = 0;

  readonly observer = {
    firstByte: () => {
      this.atFirstByte = Table.calls;
    },
  };

  /** One chat completion, alone: nothing else runs before it starts or after it settles. */
  async chat(
    url: string,
    key: string,
    body: Record<string, unknown>,
  ): Promise<{ response: Response; before: number; after: number }> {
    await quiet();
    const start = Table.calls;
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`request failed with ${response.status}`);
    await quiet();
    return { response, before: this.atFirstByte - start, after: Table.calls - this.atFirstByte };
  }
}

/** Waits until no DynamoDB call has been made for a while: settlement has finished. */
async function quiet(): Promise<void> {
  let last = Table.calls;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    if (Table.calls === last) return;
    last = Table.calls;
  }
}
