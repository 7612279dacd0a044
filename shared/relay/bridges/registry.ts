import type { Bridge } from "./bridge";

/**
 * The bridges this build has, one line per protocol pair (client's → channel's), e.g.
 * `messagesToChat` (bridges/messages-to-chat/) and `chatToMessages` (bridges/chat-to-messages/).
 */
export const BRIDGES: readonly Bridge[] = [];
