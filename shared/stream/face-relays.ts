import type { StreamBridge } from "../relay/bridges/bridge";
import { scanTopLevel, spliceTopLevel } from "../relay/json-splice";
import type { SseRelay, StreamOutcome } from "./relay-stream";
import type { SseEvent } from "./sse";

/** What a relayed stream delivered, for an estimate when its usage did not come. */
export interface Delivered {
  /** Generated output the client got: text, reasoning, tool input. */
  text: string;
  /** performance.now() when the first of it came. */
  firstTokenAt: number | undefined;
}

/**
 * A channel's stream converted by a bridge (relay/bridges/) into the face's own events: the
 * bridge owns the conversion (its own failure events), the relay the stream's timing and its
 * end. What the client got is read back from the events the bridge wrote, by `record`: the
 * face's own reading of its delta events.
 */
export class BridgedFaceRelay implements SseRelay {
  constructor(
    private readonly bridge: StreamBridge,
    readonly delivered: Delivered,
    private readonly record: (data: Record<string, unknown>, delivered: Delivered) => void,
    private readonly closed: (outcome: StreamOutcome) => void,
  ) {}

  get began(): boolean {
    return this.delivered.firstTokenAt !== undefined;
  }

  onEvents(events: SseEvent[]): string {
    const text = this.bridge.push(events);
    for (const line of text.split("\n")) {
      if (!line.startsWith("data: ") || !line.includes("delta")) continue;
      try {
        this.record(JSON.parse(line.slice(6)), this.delivered);
      } catch {
        // Not JSON: the bridges write none such, and nothing of it was output.
      }
    }
    return text;
  }

  onUpstreamEnd(): { text: string; complete: boolean } {
    return this.bridge.end();
  }

  onBroken(message: string): string {
    return this.bridge.broken(message);
  }

  onClose(outcome: StreamOutcome): void {
    this.closed(outcome);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * An event whose object under `member` (a Messages `message`, a Responses `response`) gets
 * `model` set to the client's name: that one member is spliced, every other byte of the event
 * kept. An event that is not the expected shape goes out as it came.
 */
export function withModelIn(event: SseEvent, member: string, model: string): string {
  try {
    const data = encoder.encode(event.data);
    const found = scanTopLevel(data).members.findLast((m) => m.key === member);
    if (!found) return event.raw;
    const inner = spliceTopLevel(data.subarray(found.valueStart, found.end), { set: { model } });
    const spliced =
      decoder.decode(data.subarray(0, found.valueStart)) +
      decoder.decode(inner) +
      decoder.decode(data.subarray(found.end));
    return `${event.event === undefined ? "" : `event: ${event.event}\n`}data: ${spliced}\n\n`;
  } catch {
    return event.raw;
  }
}
