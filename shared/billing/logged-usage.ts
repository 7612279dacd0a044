import type { LoggedCount, LoggedUsage } from "../store/usage";
import type { Bill } from "./cost";
import { INPUT_KINDS, type Metered, OUTPUT_KINDS } from "./metered";

/** Every token kind is a count the usage log keeps (checked here, where both are known). */
const TOKEN_KINDS = [...INPUT_KINDS, ...OUTPUT_KINDS] satisfies LoggedCount[];

/**
 * What a settled call's log line records of its usage: each kind it consumed (only those
 * above 0, so a line stays small), the seconds, characters and images of calls not priced
 * by tokens, and what each kind cost.
 */
export function loggedUsage(metered: Metered, billed: Bill): LoggedUsage {
  const line: LoggedUsage = {};
  for (const kind of TOKEN_KINDS) {
    const n = metered[kind];
    if (n && n > 0) line[kind] = n;
  }
  const calls = metered.calls ?? 1;
  if (billed.costs.perCall !== undefined && calls > 0) line.calls = calls;
  if (metered.sttSeconds && metered.sttSeconds > 0) line.seconds = metered.sttSeconds;
  if (metered.ttsCharacters && metered.ttsCharacters > 0) line.characters = metered.ttsCharacters;
  if (metered.images && metered.images.count > 0) {
    line.imageCount = metered.images.count;
    line.imageSize = metered.images.size;
    line.imageQuality = metered.images.quality;
  }
  if (Object.keys(billed.costs).length > 0) line.costs = billed.costs;
  return line;
}
