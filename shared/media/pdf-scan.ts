/**
 * What a PDF can put in a prompt beyond its own bytes: the pages (each shown to the model as
 * an image) and the text of its Flate-compressed streams. A scan, not a parser: it errs high
 * where it must guess, and says where it can miss.
 */
import { constants, inflateRawSync } from "node:zlib";

/**
 * Inflated text is counted up to 16 MiB. Past that the count (a token a byte) is beyond any
 * model's context window, the most text a prompt can hold, so more is not needed for a
 * bound; inflating stops there, and a decompression bomb costs no more than that.
 */
const INFLATE_LIMIT = 16 * 1024 * 1024;
/** Deflate's largest expansion (a 258-byte match in about 2 bits): 1032 to 1. */
const DEFLATE_MAX_RATIO = 1032;
/** Halvings when looking for where a corrupt stream goes wrong. */
const CORRUPT_SEARCH_STEPS = 12;

export function isPdf(data: Buffer): boolean {
  return data.subarray(0, 1024).includes("%PDF-");
}

/**
 * Pages are page objects (`/Type /Page`, not `/Pages`), counted in the file's bytes and in
 * its inflated streams (page objects often sit in compressed object streams), with `#xx`
 * escapes in names undone. Missed: pages with no `/Type` (the spec requires it, some readers
 * do without), and streams whose first filter is not Flate (ASCII85, LZW…), whose text and
 * pages are only counted as their encoded bytes.
 */
export function scanPdf(data: Buffer): { pages: number; inflatedBytes: number } {
  const raw = data.toString("latin1");
  let pages = countPageObjects(raw);
  let inflatedBytes = 0;
  const streams = /(?<!end)stream(?:\r\n|\n|\r)/g;
  for (let match = streams.exec(raw); match; match = streams.exec(raw)) {
    const start = match.index + match[0].length;
    const end = raw.indexOf("endstream", start);
    const stop = end < 0 ? raw.length : end;
    streams.lastIndex = stop;
    // The stream's dictionary: from its object's "N G obj" to the keyword.
    const dictionary = raw.slice(raw.lastIndexOf("obj", match.index), match.index);
    if (!/\/Filter\s*\[?\s*\/Fl(?:ateDecode)?(?![A-Za-z])/.test(dictionary)) continue;
    const room = INFLATE_LIMIT - inflatedBytes;
    if (room <= 0) break;
    const inflated = inflateLeniently(data.subarray(start, stop), room);
    inflatedBytes += inflated.bytes;
    if (inflated.text) pages += countPageObjects(inflated.text.toString("latin1"));
  }
  return { pages, inflatedBytes: Math.min(inflatedBytes, INFLATE_LIMIT) };
}

/**
 * A Flate stream's contents as a lenient reader gets them: zlib header skipped, checksum
 * ignored, a truncated stream taken as far as it goes. A stream that inflates past `room`
 * counts all of it. A corrupt one counts what its longest good prefix (found by halving)
 * gives, plus the deflate maximum of the bytes it could not place, since a reader may
 * inflate up to the corruption.
 */
function inflateLeniently(stream: Buffer, room: number): { bytes: number; text?: Buffer } {
  const body = hasZlibHeader(stream) ? stream.subarray(2) : stream;
  const attempt = (length: number): Buffer | "too large" | "corrupt" => {
    try {
      return inflateRawSync(body.subarray(0, length), {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: room,
      });
    } catch (error) {
      return error instanceof RangeError ? "too large" : "corrupt";
    }
  };
  const whole = attempt(body.length);
  if (whole === "too large") return { bytes: room };
  if (whole !== "corrupt") return { bytes: whole.byteLength, text: whole };
  let good = 0;
  let goodText: Buffer = Buffer.alloc(0);
  let bad = body.length;
  for (let step = 0; step < CORRUPT_SEARCH_STEPS && bad - good > 1; step++) {
    const middle = Math.floor((good + bad) / 2);
    const result = attempt(middle);
    if (result === "too large") return { bytes: room };
    if (result === "corrupt") bad = middle;
    else [good, goodText] = [middle, result];
  }
  const bytes = goodText.byteLength + (bad - good) * DEFLATE_MAX_RATIO;
  return { bytes: Math.min(room, bytes), text: goodText };
}

/** RFC 1950: deflate method (8) in the low nibble, and the two bytes a multiple of 31. */
function hasZlibHeader(stream: Buffer): boolean {
  const [cmf = 0, flg = 0] = stream;
  return (cmf & 0x0f) === 8 && (cmf * 256 + flg) % 31 === 0;
}

function countPageObjects(text: string): number {
  const unescaped = text.replace(/#([0-9a-fA-F]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
  return unescaped.match(/\/Type[\s\0]*\/Page(?![A-Za-z0-9])/g)?.length ?? 0;
}
