import { functionMemoryMb, HELD_MB } from "./memory";

/**
 * How deep JSON may nest in a request body or a batch line. Far beyond any real request (a
 * chat request nests about 6 deep, a JSON schema in `response_format` rarely 20), and far
 * below what JSON.stringify, the DynamoDB marshaller and the relay can recurse through.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What one pass over JSON text finds before it is parsed. */
export interface JsonScan {
  /** It opens more arrays and objects inside each other than the scan's `maxDepth`. */
  tooDeep: boolean;
  /**
   * Its values, nested ones included; of them its arrays and objects, and its strings (keys
   * too); and its keys: `{"a":[1,"b"]}` holds 4 values (the object, the array, 1 and "b"), 2
   * containers, 2 strings and 1 key. Exact for valid JSON; counted up to where the scan
   * stopped when it was too deep.
   */
  values: number;
  containers: number;
  strings: number;
  keys: number;
}

/**
 * Scans JSON text (bytes or a string) once, before it is parsed, so that a hostile body costs
 * neither recursion nor memory: how deep it nests and how many keys and values it holds.
 * Brackets, commas and colons inside strings do not count (UTF-8 continuation bytes never
 * equal these ASCII ones). Values are counted as 1 for the whole text, 1 per comma, and 1 per
 * array or object that is not empty (in an object, a value per member); keys as their colons.
 * (Duplicate keys count as written: more than the parsed object keeps.)
 */
export function scanJson(text: Uint8Array | string, maxDepth = MAX_JSON_DEPTH): JsonScan {
  const isText = typeof text === "string";
  let depth = 0;
  let values = 1;
  let containers = 0;
  let strings = 0;
  let keys = 0;
  /** The last character outside strings opened an array or object. */
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    const c = isText ? text.charCodeAt(i) : (text[i] as number);
    switch (c) {
      case 0x20: // blanks
      case 0x09:
      case 0x0a:
      case 0x0d:
        continue;
      case 0x5d: // ] }
      case 0x7d:
        depth--;
        opened = false;
        continue;
    }
    if (opened) values++;
    opened = false;
    switch (c) {
      case QUOTE:
        strings++;
        // Its end: the next quote not escaped (after an even run of backslashes), found by the
        // platform's search rather than a character at a time (a string is most of a body).
        i = stringEnd(text, i);
        break;
      case 0x2c: // ,
        values++;
        break;
      case 0x3a: // :
        keys++;
        break;
      case 0x5b: // [ {
      case 0x7b:
        containers++;
        if (++depth > maxDepth) return { tooDeep: true, values, containers, strings, keys };
        opened = true;
        break;
    }
  }
  return { tooDeep: false, values, containers, strings, keys };
}

/** Characters read one at a time after an escaped quote, before the next search. */
const STRETCH = 16;
/** Characters read one at a time before the first search: an empty or a short string's. */
const PEEK = 2;

/**
 * Where the string opened at `start` ends (its closing quote), or the text's end without one.
 * A few characters are read one at a time (a backslash escapes the next): an empty or short
 * string ends there. Then the platform searches for the next quote; it is escaped when an odd
 * run of backslashes precedes it since what was read (which ends on a character no backslash
 * escapes). After an escaped quote a longer stretch is read a character at a time before the
 * next search: where strings are tiny or escapes dense, a search per quote costs more.
 */
function stringEnd(text: Uint8Array | string, start: number): number {
  const isText = typeof text === "string";
  const length = text.length;
  let i = start + 1;
  let stop = Math.min(i + PEEK, length);
  for (;;) {
    for (; i < stop; i++) {
      const c = isText ? text.charCodeAt(i) : text[i];
      if (c === QUOTE) return i;
      if (c === BACKSLASH) i++;
    }
    if (i >= length) return length;
    const quote = isText ? text.indexOf('"', i) : text.indexOf(QUOTE, i);
    if (quote === -1) return length;
    let backslashes = 0;
    for (let j = quote - 1; j >= i; j--) {
      if ((isText ? text.charCodeAt(j) : text[j]) !== BACKSLASH) break;
      backslashes++;
    }
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
    stop = Math.min(i + STRETCH, length);
  }
}

/** Whether JSON text opens more than `max` arrays and objects inside each other. */
export function nestsDeeperThan(text: Uint8Array | string, max = MAX_JSON_DEPTH): boolean {
  return scanJson(text, max).tooDeep;
}

const MB = 1024 * 1024;

/**
 * What a JSON body takes from the function's memory while it is parsed and relayed, about, as
 * bench/perf/body-memory.ts measures the API at 128 MB, when the same body comes a second time
 * (the first time takes less): some 9 bytes per byte of body (the runtime's event, its text,
 * the parsed strings, the upstream body and the HTTP client's copies); and beside that up to
 * some 50 per value (V8's JSON.parse holds a handle per value until its container is built),
 * 110 per string (one of its own), 115 per array or object (an empty object is an object of 4
 * slots) and 300 per key (an object whose keys no other object has gets a hidden class for
 * each): counted as 110 bytes per unit of jsonWeight. Unbounded, a body of 5.5 MB of text
 * took 52 MB; one of 2.9 million numbers 95 MB; 1.9 million empty objects 190 MB.
 */
const BYTES_PER_BYTE = 9;
const BYTES_PER_WEIGHT = 110;
/** The weight every body of a function URL's size (6 MB) may have, at any memory size. */
const LEAST_WEIGHT = 10_000;

/**
 * A value weighs 1, a string, an array or an object 2, and a key 3: about what each costs to
 * parse, in units of 110 bytes.
 */
export function jsonWeight({ values, containers, strings, keys }: JsonScan): number {
  // A key is a string too: (strings - keys) string values, each one more; each key 3 in all.
  return values + containers + (strings - keys) + 3 * keys;
}

/**
 * The most a JSON body of `bytes` may weigh (jsonWeight) so that parsing and relaying it fits
 * in the function's memory beside what the function holds between calls (HELD_MB; kept so
 * by shared/memory.ts), one call at a time (as an on-demand execution environment serves
 * calls). At 128 MB: 62,000 for a body of 5.5 MB (a conversation of 2,800 messages weighs
 * 28,000), 19,000 at 6 MB, 450,000 for 1 MB — an embeddings request of 300,000 token ids
 * (2,048 inputs, 2 MB, weighing 304,000) may weigh 360,000.
 */
export function maxJsonWeight(bytes: number, memoryMb = functionMemoryMb()): number {
  const room = (memoryMb - HELD_MB) * MB - BYTES_PER_BYTE * bytes;
  return Math.max(LEAST_WEIGHT, Math.floor(room / BYTES_PER_WEIGHT));
}
