import type { StreamBridge } from "../relay/bridges/bridge";
import type { CompletionStreamRelay } from "./completion-stream";
import type { SseRelay, StreamOutcome } from "./relay-stream";
import { SseParser } from "./sse";

const encoder = new TextEncoder();

/**
 * A chat stream from a channel that speaks another protocol: the channel's events converted
 * into chat chunks by the pair's bridge, which then go through the chat face's own relay as any
 * chat upstream's chunks do (the usage chunk removed unless the client asked for it,
 * Reduce-Stream, the delivered text kept for an estimate). The bridge alone says whether the
 * answer was complete, and writes the error event of a stream that broke off.
 */
export class BridgedCompletionRelay implements SseRelay {
  private readonly parser = new SseParser();

  constructor(
    private readonly bridge: StreamBridge,
    readonly chat: CompletionStreamRelay,
  ) {}

  get began(): boolean {
    return this.chat.began;
  }

  onEvents(events: Parameters<StreamBridge["push"]>[0]): string {
    return this.relay(this.bridge.push(events));
  }

  onUpstreamEnd(): { text: string; complete: boolean } {
    const { text, complete } = this.bridge.end();
    return { text: this.relay(text), complete };
  }

  onBroken(message: string): string {
    return this.bridge.broken(message);
  }

  onClose(outcome: StreamOutcome): void {
    this.chat.onClose(outcome);
  }

  private relay(text: string): string {
    return text ? this.chat.onEvents(this.parser.push(encoder.encode(text))) : "";
  }
}
