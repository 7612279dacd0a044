import type { Bridge } from "./bridge";
import { chatToMessages } from "./chat-to-messages/index";
import { messagesToChat } from "./messages-to-chat/index";
import { responsesToChat } from "./responses-to-chat/index";

/** The bridges this build has, one line per protocol pair (client's → channel's). */
export const BRIDGES: readonly Bridge[] = [chatToMessages, messagesToChat, responsesToChat];
