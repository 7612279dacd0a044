import type { Bridge } from "./bridge";
import { chatToMessages } from "./chat-to-messages/index";
import { chatToResponses } from "./chat-to-responses/index";
import { messagesToChat } from "./messages-to-chat/index";
import { responsesToChat } from "./responses-to-chat/index";

/**
 * The bridges this build has, one line per protocol pair (client's → channel's). chat →
 * responses is never chosen by the adapter's protocols alone (an `openai` channel speaks chat):
 * relay/chat-serving.ts chooses it per (channel, model).
 */
export const BRIDGES: readonly Bridge[] = [
  chatToMessages,
  chatToResponses,
  messagesToChat,
  responsesToChat,
];
