import type { ServerResponse } from "node:http";
import type { UpstreamFault } from "../demo-upstream";
import { sleep } from "./common";

/**
 * Writes `chunks` one by one, applying the fault's stream behaviour: a delay between chunks,
 * a pause until `resume` settles, or a dropped connection. Every streamed endpoint (SSE and
 * audio) goes through here, so a fault means the same thing everywhere. Returns false when
 * the connection was cut; the caller must then not end the response.
 */
export async function writeChunks(
  res: ServerResponse,
  chunks: readonly (string | Uint8Array)[],
  fault: UpstreamFault,
  state: { paused: boolean },
): Promise<boolean> {
  let sent = 0;
  for (const chunk of chunks) {
    // A pause comes before a cut at the same chunk: a test that saw the chunks arrive resumes
    // the stream, and only then is it cut (a cut can otherwise overtake them on a busy machine).
    if (fault.pauseAfterChunks !== undefined && sent === fault.pauseAfterChunks) {
      state.paused = true;
      await fault.resume;
      state.paused = false;
    }
    if (fault.cutAfterChunks !== undefined && sent >= fault.cutAfterChunks) {
      // Drop the connection once what was written has gone out and, most likely, been read:
      // the body ends unfinished (no [DONE], no closing chunk), which the client reads as a cut.
      // A client's fetch discards what it had received but not yet read when the body errors,
      // so a cut right after the writes can take them along on a busy machine.
      await sleep(100);
      if (res.socket) res.socket.destroySoon();
      else res.destroy();
      return false;
    }
    if (fault.chunkDelayMs && sent > 0) await sleep(fault.chunkDelayMs);
    await new Promise((resolve) => res.write(chunk, resolve));
    sent++;
  }
  return true;
}

/** Server-sent events as OpenAI sends them: one `data:` line per event, then `[DONE]`. */
export async function sendSse(
  res: ServerResponse,
  events: readonly unknown[],
  fault: UpstreamFault,
  state: { paused: boolean },
): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const lines = events.map((event) => `data: ${JSON.stringify(event)}\n\n`);
  if (await writeChunks(res, lines, fault, state)) res.end("data: [DONE]\n\n");
}
