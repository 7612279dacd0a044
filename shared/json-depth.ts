/**
 * How deep JSON may nest in a request body or a batch line. Far beyond any real request (a
 * chat request nests about 6 deep, a JSON schema in `response_format` rarely 20), and far
 * below what JSON.stringify, the DynamoDB marshaller and the relay can recurse through.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]); // [ {
const CLOSE = new Set([0x5d, 0x7d]); // ] }

/**
 * Whether JSON text (bytes or a string) opens more than `max` arrays and objects inside each
 * other. One pass over the text, before it is parsed, so a hostile body costs no recursion;
 * brackets inside strings do not count (UTF-8 continuation bytes never equal these ASCII ones).
 */
export function nestsDeeperThan(text: Uint8Array | string, max = MAX_JSON_DEPTH): boolean {
  const at = typeof text === "string" ? (i: number) => text.charCodeAt(i) : (i: number) => text[i];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = at(i) as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (OPEN.has(c)) {
      if (++depth > max) return true;
    } else if (CLOSE.has(c)) depth--;
  }
  return false;
}
