import { setImmediate as turn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { API_FUNCTION } from "./config/resources";

const MB = 1024 * 1024;

/**
 * What the API holds between calls, as bench/perf/body-memory.ts measures it at 128 MB after a
 * first small call (66 MB: its code, modules and caches), and 6 to spare (the peaks of the
 * heaviest bodies admitted came within 4 MB of 128 with less). What a call may parse
 * (shared/json-limits.ts) is what the function's memory leaves beside it.
 *
 * With the bundle compiled whole at initialisation (below 512 MB: functions/api/compiler-tiers.ts)
 * the process holds 78 MB, more than this. Kept at 72, as measured: the heaviest bodies admitted
 * still peak at 118 MB (122 with the tokenizer loaded), since V8 collects harder near its limit;
 * holding more, the process more often collects before a large body (makeRoomFor; README,
 * Performance).
 */
export const HELD_MB = 72;

/**
 * The function's memory size: Lambda's, or where there is none (locally) the size the stack
 * gives the function that asks (the API's unless it says otherwise).
 */
export function functionMemoryMb(
  env: NodeJS.ProcessEnv = process.env,
  otherwise: number = API_FUNCTION.memoryMiB,
): number {
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return Number.isFinite(memory) && memory > 0 ? memory : otherwise;
}

/** Past what it holds between calls by this much, the process collects before a large body. */
const SLACK_MB = 12;
/** A body this large may need the room that the last calls' garbage takes. */
const LARGE_BODY = 256 * 1024;
/**
 * The most memory a byte of an admitted body may take, whatever the function's size: at 256
 * MB the heaviest body of empty objects admitted (2.2 MB) took 97 MB, 44 bytes a byte; with
 * room.
 */
const MOST_PER_BYTE = 60;

/**
 * Before a large body is read: when the process holds much more than it holds between calls
 * (the last calls' garbage) and the body could need that room, a full garbage collection, so
 * that this call starts from about HELD_MB as shared/json-limits.ts counts on. V8 alone would
 * not collect yet: its old space may grow to ~90% of the function's memory and it lets 64 MB
 * outside its heap pile up before it looks, so two large bodies in a row (a long conversation
 * sent again) passed 128 MB. At the start of the next call, not the end of this one: the
 * runtime holds the event until the invocation has ended. Lambda's node runs with
 * --expose-gc; without it (another host) the flag is set now. Only on Lambda (where the memory
 * size is given): a local process holds the whole stack. Never throws: a collection not made
 * leaves the call as it was.
 */
export async function makeRoomFor(
  bodyLength: number,
  env: NodeJS.ProcessEnv = process.env,
  resident?: number,
): Promise<boolean> {
  if (env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE === undefined || bodyLength < LARGE_BODY) return false;
  // Read only now: a small call pays nothing, not even the read of the process's memory.
  resident ??= process.memoryUsage.rss();
  const memory = functionMemoryMb(env) * MB;
  // What the body may take, beside the copies of it the event already holds (two).
  const most = Math.min(memory - HELD_MB * MB, MOST_PER_BYTE * bodyLength);
  const allowed = Math.max((HELD_MB + SLACK_MB) * MB, memory - most) + 2 * bodyLength;
  if (resident < allowed) return false;
  try {
    collector()();
  } catch {
    return false;
  }
  // Strings and buffers outside the heap are freed by callbacks that run after the collection.
  await turn();
  return true;
}

let gc: (() => void) | undefined;
function collector(): () => void {
  if (!gc) {
    gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    }
  }
  return gc;
}
