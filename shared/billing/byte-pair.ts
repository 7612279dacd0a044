/**
 * A byte-pair encoding's token count, from ranks held in three typed arrays: the tokenizer of
 * shared/billing/tokens.ts, small enough for the API's 128 MB.
 *
 * gpt-tokenizer, the library sluice counted with before, keeps its ranks as a Map of 200,000
 * strings built from megabytes of JavaScript: loading o200k_base took a process holding the
 * API's bundle from 65 MB to a 121.5 MB peak under Lambda's 128 MB node flags, 6.5 MB short
 * of the function's memory (bench/perf/tokenizer.ts; here, 70 MB). Here the same
 * ranks (OpenAI's own `.tiktoken` files, as gpt-tokenizer ships them) are the token bytes end
 * to end, where each rank's bytes start, and an open-addressing hash table of ranks: about
 * 5 MB for o200k_base, with no object per token. The text is split into pieces by the
 * encoding's own pattern (gpt-tokenizer's), and each piece that is not one token is merged
 * pair by lowest rank, as tiktoken does. test/unit/byte-pair.test.ts holds it to
 * gpt-tokenizer's counts (but for a byte-order mark, which gpt-tokenizer miscounts).
 */

/** A `.tiktoken` file's ranks: token bytes by rank, and a hash table to find a rank by bytes. */
export class ByteRanks {
  private constructor(
    /** Every token's bytes, in rank order, end to end. */
    private readonly bytes: Uint8Array,
    /** Where rank r's bytes are: starts[r] to starts[r + 1]. */
    private readonly starts: Uint32Array,
    /** rank + 1 at a slot, by hash of the bytes (0: empty); its length is a power of two. */
    private readonly slots: Int32Array,
  ) {}

  /** Counts of pieces seen lately (countBytePairTokens). */
  readonly counted = new Map<string, number>();

  /**
   * Reads a `.tiktoken` file: one line per token, its bytes in base64, a space and its rank.
   * The ranks must be 0, 1, 2… in order (as OpenAI's files have them): anything else is not
   * the file expected, and throws.
   */
  static fromTiktoken(file: Uint8Array): ByteRanks {
    // A line with a token is at least 5 bytes ("YQ 0\n"; the last may lack its newline), so
    // n lines take n + 1 starts, at most length / 5 + 2; a token is 3/4 of its base64 at most.
    const starts = new Uint32Array(Math.floor(file.length / 5) + 2);
    const hashes = new Uint32Array(starts.length);
    const reader = new TiktokenReader(file, new Uint8Array(Math.ceil((file.length * 3) / 4)));
    let rank = 0;
    while (reader.at < file.length) {
      starts[rank] = reader.written;
      hashes[rank] = reader.line(rank);
      rank++;
    }
    starts[rank] = reader.written;
    const ranks = new ByteRanks(
      reader.bytes.slice(0, reader.written),
      starts.slice(0, rank + 1),
      new Int32Array(tableSize(rank)),
    );
    for (let r = 0; r < rank; r++) ranks.insert(r, hashes[r] as number);
    return ranks;
  }

  /**
   * The ranks as one file that `fromTable` reads without decoding or hashing anything: a
   * header (TABLE_MAGIC, the number of ranks, of bytes, of slots), then `starts`, `slots` and
   * `bytes` as they are in memory (little-endian). infra/side-bundles.ts ships each encoding
   * so, made from its `.tiktoken` file at synth: at a small Lambda's share, decoding the
   * `.tiktoken` file costs the first estimate of an instance seconds.
   */
  toTable(): Uint8Array {
    const header = new Uint32Array([TABLE_MAGIC, this.size, this.bytes.length, this.slots.length]);
    return Buffer.concat(
      [header, this.starts, this.slots, this.bytes].map(
        (part) => new Uint8Array(part.buffer, part.byteOffset, part.byteLength),
      ),
    );
  }

  /**
   * Reads a file `toTable` wrote (on a little-endian machine, as Lambda's are). A file that
   * is not one, or whose counts, token bounds or slots do not hold together (every token's
   * bytes after the last's, every slot empty or naming one rank, each rank once), throws:
   * nothing read from it can loop or reach past its arrays.
   */
  static fromTable(file: Uint8Array): ByteRanks {
    // Typed arrays over the file need its words aligned: a copy when they are not (a Buffer's
    // slice is no copy).
    const table = file.byteOffset % 4 === 0 ? file : new Uint8Array(file);
    const words = (offset: number, count: number) =>
      new Uint32Array(table.buffer, table.byteOffset + offset, count);
    if (table.length < 16) throw new Error("not a table of ranks");
    const [magic, size, bytes, slots] = words(0, 4) as unknown as [number, number, number, number];
    const length = 16 + 4 * (size + 1) + 4 * slots + bytes;
    if (magic !== TABLE_MAGIC || table.length !== length || slots !== tableSize(size))
      throw new Error("not a table of ranks");
    const starts = words(16, size + 1);
    const ranks = new ByteRanks(
      table.subarray(length - bytes),
      starts,
      new Int32Array(table.buffer, table.byteOffset + 16 + 4 * (size + 1), slots),
    );
    if (!ranks.whole()) throw new Error("not a table of ranks");
    return ranks;
  }

  /** Whether every rank's bytes come after the last's, and the table holds each rank once. */
  private whole(): boolean {
    const { starts, slots, size } = this;
    if (starts[0] !== 0 || starts[size] !== this.bytes.length) return false;
    for (let r = 0; r < size; r++)
      if ((starts[r + 1] as number) <= (starts[r] as number)) return false;
    const seen = new Uint8Array(size);
    let filled = 0;
    // Indexed, not for…of: unoptimised, an iterator's results would fill the young generation.
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number;
      if (slot === 0) continue;
      if (slot < 0 || slot > size || seen[slot - 1] === 1) return false;
      seen[slot - 1] = 1;
      filled++;
    }
    return filled === size;
  }

  /** How many ranks there are. */
  get size(): number {
    return this.starts.length - 1;
  }

  /** The rank of `piece[start, end)`, or -1 when those bytes are no token. */
  rankOf(piece: Uint8Array, start: number, end: number): number {
    const mask = this.slots.length - 1;
    let slot = hash(piece, start, end) & mask;
    // At most half the slots are filled: an empty one comes long before the table's end.
    for (let probes = 0; probes < this.slots.length; probes++) {
      const found = this.slots[slot] as number;
      if (found === 0) return -1;
      if (this.holds(found - 1, piece, start, end)) return found - 1;
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  /** Puts `rank`, whose bytes hash to `h`, in the table. */
  private insert(rank: number, h: number): void {
    const start = this.starts[rank] as number;
    const end = this.starts[rank + 1] as number;
    const mask = this.slots.length - 1;
    let slot = h & mask;
    while (this.slots[slot] !== 0) {
      if (this.holds((this.slots[slot] as number) - 1, this.bytes, start, end))
        throw new Error(`rank ${rank}: the same bytes as an earlier rank`);
      slot = (slot + 1) & mask;
    }
    this.slots[slot] = rank + 1;
  }

  private holds(rank: number, piece: Uint8Array, start: number, end: number): boolean {
    const from = this.starts[rank] as number;
    if ((this.starts[rank + 1] as number) - from !== end - start) return false;
    for (let i = 0; i < end - start; i++)
      if (this.bytes[from + i] !== piece[start + i]) return false;
    return true;
  }
}

/**
 * Reads a `.tiktoken` file line by line, byte by byte. A call per line, not one loop over the
 * file: V8 runs a function's long loop in its interpreter until the function is next called,
 * and at a small Lambda's share it compiles no further than its baseline (the API's choice).
 */
class TiktokenReader {
  /** Where the next line starts. */
  at = 0;
  /** How many bytes of tokens are decoded into `bytes`. */
  written = 0;

  constructor(
    private readonly file: Uint8Array,
    readonly bytes: Uint8Array,
  ) {}

  /** Reads the line of `rank`: decodes its token into `bytes`; returns the token's hash. */
  line(rank: number): number {
    const { file, bytes } = this;
    const start = this.written;
    let i = this.at;
    // The token's base64, decoded and hashed as it goes, up to the space.
    let h = FNV_OFFSET;
    let bits = 0;
    let pending = 0;
    for (let byte = file[i]; byte !== SPACE; byte = file[++i]) {
      if (byte === undefined || byte === NEWLINE) throw new Error(`line ${rank + 1}: no rank`);
      if (byte === PADDING) continue;
      const value = BASE64[byte] as number;
      if (value === -1) throw new Error(`line ${rank + 1}: not base64`);
      bits = (bits << 6) | value;
      pending += 6;
      if (pending >= 8) {
        pending -= 8;
        const decoded = (bits >> pending) & 0xff;
        bytes[this.written++] = decoded;
        h = Math.imul(h ^ decoded, FNV_PRIME);
      }
    }
    // The rank, in decimal, up to the end of the line.
    let value = 0;
    let digits = 0;
    for (let byte = file[++i]; byte !== undefined && byte !== NEWLINE; byte = file[++i]) {
      const digit = byte - 0x30;
      if (digit < 0 || digit > 9) throw new Error(`line ${rank + 1}: not rank ${rank}`);
      value = value * 10 + digit;
      digits++;
    }
    if (digits === 0 || value !== rank) throw new Error(`line ${rank + 1}: not rank ${rank}`);
    if (this.written === start) throw new Error(`line ${rank + 1}: no token`);
    this.at = i + 1;
    return h >>> 0;
  }
}

/**
 * Counts `text`'s tokens: `split` (a global regular expression) cuts it into pieces, and each
 * piece is one token or as many as merging its bytes leaves. Text that spells a special token
 * is plain text here.
 */
export function countBytePairTokens(ranks: ByteRanks, split: RegExp, text: string): number {
  let count = 0;
  for (const [piece] of text.matchAll(split)) {
    if (piece.length > REMEMBERED_LENGTH) {
      count += pieceTokens(ranks, piece);
      continue;
    }
    let tokens = ranks.counted.get(piece);
    if (tokens === undefined) {
      tokens = pieceTokens(ranks, piece);
      if (ranks.counted.size >= REMEMBERED_PIECES) ranks.counted.clear();
      ranks.counted.set(piece, tokens);
    }
    count += tokens;
  }
  return count;
}

/** Pieces whose count an encoding remembers (words recur), of at most so many characters. */
export const REMEMBERED_PIECES = 4_096;
export const REMEMBERED_LENGTH = 32;

/**
 * The longest piece merged whole, in bytes. Merging is quadratic in a piece's length, and a
 * caller's text decides its pieces: a longer one (no word of any language, but a run such as
 * "aaaa…" or "====…") is merged in parts of at most this many bytes, each as if a piece, which
 * bounds the time and memory any text costs (tokenizers merge such a run whole: the count may
 * differ by about a token per part). The longest token of either encoding is 128 bytes.
 */
export const LONGEST_PIECE = 256;

const encoder = new TextEncoder();
/** Scratch space: a piece's bytes, and its merge's part bounds and pair ranks. */
const scratch = new Uint8Array(LONGEST_PIECE);
const bounds = new Int32Array(LONGEST_PIECE + 1);
const pairRanks = new Int32Array(LONGEST_PIECE + 1);

function pieceTokens(ranks: ByteRanks, piece: string): number {
  let count = 0;
  for (let rest = piece; rest.length > 0; ) {
    // As much of the piece as fits, ending on a whole character.
    const { read, written } = encoder.encodeInto(rest, scratch);
    count +=
      written <= 1 || ranks.rankOf(scratch, 0, written) !== -1
        ? 1
        : mergedParts(ranks, scratch, written);
    rest = rest.slice(read);
  }
  return count;
}

/**
 * Merges a piece's bytes as a byte-pair encoding does: starting from single bytes, the
 * adjacent pair whose joined bytes have the lowest rank is joined, again and again, until no
 * pair is a token. Returns how many parts are left. `bounds[i]` is where part i starts;
 * `pairRanks[i]` the rank of parts i and i + 1 joined (NONE when they are no token).
 */
function mergedParts(ranks: ByteRanks, piece: Uint8Array, length: number): number {
  let parts = length;
  for (let i = 0; i <= length; i++) bounds[i] = i;
  const joined = (i: number): number => {
    if (i + 2 > parts) return NONE;
    const rank = ranks.rankOf(piece, bounds[i] as number, bounds[i + 2] as number);
    return rank === -1 ? NONE : rank;
  };
  for (let i = 0; i < parts; i++) pairRanks[i] = joined(i);
  for (;;) {
    let lowest = NONE;
    let at = -1;
    for (let i = 0; i < parts - 1; i++) {
      if ((pairRanks[i] as number) < lowest) {
        lowest = pairRanks[i] as number;
        at = i;
      }
    }
    if (at === -1) return parts;
    // Part at + 1 joins part at: the bounds and pair ranks after it move down by one.
    bounds.copyWithin(at + 1, at + 2, parts + 1);
    pairRanks.copyWithin(at + 1, at + 2, parts);
    parts--;
    pairRanks[at] = joined(at);
    if (at > 0) pairRanks[at - 1] = joined(at - 1);
  }
}

const NONE = 0x7fffffff;
/** "BPE1", the first word of a table of ranks (ByteRanks.toTable). */
const TABLE_MAGIC = 0x31455042;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const PADDING = 0x3d; // "="

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over bytes (fromTiktoken computes the same as it decodes). */
function hash(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  return h >>> 0;
}

/** A power of two at least twice `count`: at most half the slots used keeps probes short. */
function tableSize(count: number): number {
  let size = 2;
  while (size < count * 2) size *= 2;
  return size;
}

const BASE64 = new Int8Array(256).fill(-1);
for (const [i, c] of [
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
].entries())
  BASE64[c.charCodeAt(0)] = i;
