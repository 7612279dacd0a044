import { InvalidRequest } from "../errors";

/**
 * Top-level edits of a JSON object's bytes: set, replace or remove a member (`model`,
 * `max_tokens`, Bedrock's `anthropic_version`, …) and copy every other member's bytes as they
 * came. Parsing and re-serialising a body would rewrite what a relay must pass through
 * untouched: integers beyond 2^53 in tool inputs, `1.0`, escapes, key order, duplicate keys
 * inside nested objects, and with them the bytes a signed thinking block or a prompt cache
 * depends on.
 *
 * The bytes are checked against JSON's grammar on the way (without recursion, so no depth
 * can overflow the stack); UTF-8 is not decoded, and byte sequences inside strings are copied
 * as they are (a caller that needs valid UTF-8 decodes the body itself, as sluice does to
 * validate it). Structural characters are ASCII and UTF-8 continuation bytes never are, so a
 * byte scan cannot mistake part of a character for one.
 */

/** The body is not one JSON object: where and why. */
export class MalformedJson extends InvalidRequest {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(`The request body is not valid JSON: ${reason} at byte ${offset}.`);
  }
}

/** One top-level member, by byte offsets into the body. */
export interface TopLevelMember {
  /** The decoded key. */
  key: string;
  /** Where the member's text starts (its key's opening quote) and ends (after its value). */
  start: number;
  end: number;
  /** Where its value's text starts and ends. */
  valueStart: number;
}

/** The members of a top-level object, and where its braces are. */
export interface TopLevelObject {
  open: number;
  close: number;
  members: TopLevelMember[];
}

export interface TopLevelEdits {
  /** Members to set: an existing member's value is replaced in place, a new one appended. */
  set?: Record<string, unknown>;
  /** Members to remove (every occurrence). */
  remove?: readonly string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Applies top-level edits and returns the new body. Members not named keep their bytes and
 * the whitespace around them. A key that occurs more than once at the top level (JSON.parse
 * keeps the last) is left once, at its last place, when set, and removed everywhere when
 * removed, so every reader agrees on the edited value. Values are written with JSON.stringify.
 * `parsed`: see scanTopLevel.
 */
export function spliceTopLevel(json: Uint8Array, edits: TopLevelEdits, parsed = false): Uint8Array {
  const set = new Map(Object.entries(edits.set ?? {}));
  const remove = new Set(edits.remove ?? []);
  const object = scanTopLevel(json, parsed);
  const lastIndex = new Map<string, number>();
  object.members.forEach((member, i) => {
    lastIndex.set(member.key, i);
  });

  // Each kept member as it stood between its separators: its whitespace comes along.
  const kept: Uint8Array[] = [];
  for (const [i, member] of object.members.entries()) {
    if (remove.has(member.key)) continue;
    const from = gapStart(json, object, i);
    const to = gapEnd(json, object, i);
    if (!set.has(member.key)) kept.push(json.subarray(from, to));
    else if (lastIndex.get(member.key) === i) {
      const value = encoder.encode(stringify(member.key, set.get(member.key)));
      kept.push(
        concat([json.subarray(from, member.valueStart), value, json.subarray(member.end, to)]),
      );
    }
  }
  const added = [...set.keys()]
    .filter((key) => !lastIndex.has(key) && !remove.has(key))
    .map((key) => encoder.encode(`${JSON.stringify(key)}:${stringify(key, set.get(key))}`));

  const pieces: Uint8Array[] = [json.subarray(0, object.open + 1)];
  const last = kept.at(-1);
  if (last === undefined) {
    if (added.length > 0) pieces.push(join(added));
    // An object that was empty keeps its whitespace; removed members take theirs along.
    else if (object.members.length === 0) {
      pieces.push(json.subarray(object.open + 1, object.close));
    }
  } else {
    pieces.push(join(kept.slice(0, -1)));
    if (kept.length > 1) pieces.push(COMMA);
    // New members go after the last one's value, before the whitespace that ends it.
    const value = last.length - trailingSpace(last);
    pieces.push(last.subarray(0, value));
    for (const member of added) pieces.push(COMMA, member);
    pieces.push(last.subarray(value));
  }
  pieces.push(json.subarray(object.close));
  return concat(pieces);
}

/** The raw JSON text of a top-level member's value (its last occurrence), if it has one. */
export function readTopLevel(json: Uint8Array, key: string, parsed = false): string | undefined {
  const member = scanTopLevel(json, parsed).members.findLast((m) => m.key === key);
  return member && decoder.decode(json.subarray(member.valueStart, member.end));
}

const COMMA = encoder.encode(",");

/** Where member i's piece starts: after the `{` or the comma before it. */
function gapStart(json: Uint8Array, object: TopLevelObject, i: number): number {
  if (i === 0) return object.open + 1;
  return commaAfter(json, (object.members[i - 1] as TopLevelMember).end) + 1;
}

/** Where member i's piece ends: at the comma or `}` after it. */
function gapEnd(json: Uint8Array, object: TopLevelObject, i: number): number {
  if (i === object.members.length - 1) return object.close;
  return commaAfter(json, (object.members[i] as TopLevelMember).end);
}

function commaAfter(json: Uint8Array, from: number): number {
  let at = from;
  while (json[at] !== COMMA_BYTE) at++;
  return at;
}

function trailingSpace(piece: Uint8Array): number {
  let n = 0;
  while (n < piece.length && isSpace(piece[piece.length - 1 - n] as number)) n++;
  return n;
}

function stringify(key: string, value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${key}: the value has no JSON form`);
  return text;
}

function join(members: Uint8Array[]): Uint8Array {
  return concat(members.flatMap((member, i) => (i === 0 ? [member] : [COMMA, member])));
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

const COMMA_BYTE = 0x2c;
const COLON = 0x3a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Finds the top-level members of a JSON object, checking the whole text against JSON's
 * grammar. Throws MalformedJson for anything else (another top-level value included).
 *
 * `parsed`: the caller has had these bytes (or their UTF-8 text) accepted by JSON.parse — a
 * request body read by readJsonObject, a body sluice serialised itself. Strings are then
 * skipped to their closing quote by the platform's search rather than read a byte at a time
 * for their escapes: a coding agent's 300 KB conversation is almost all string, and at 128 MB
 * V8 runs sluice's code on its baseline compiler, where the byte loop took ~12 ms for one. The
 * answer is the same (test/unit/json-splice.test.ts); bytes JSON.parse would refuse are not
 * all refused.
 */
export function scanTopLevel(json: Uint8Array, parsed = false): TopLevelObject {
  const scanner = new Scanner(json, parsed);
  scanner.skipSpace();
  const open = scanner.at;
  if (json[open] !== OPEN_OBJECT) scanner.fail("expected an object");
  scanner.at++;
  const members: TopLevelMember[] = [];
  scanner.skipSpace();
  if (json[scanner.at] === CLOSE_OBJECT) {
    scanner.at++;
  } else {
    for (;;) {
      scanner.skipSpace();
      const start = scanner.at;
      if (json[start] !== QUOTE) scanner.fail("expected a key");
      scanner.anyString();
      const key = JSON.parse(decoder.decode(json.subarray(start, scanner.at))) as string;
      scanner.skipSpace();
      if (json[scanner.at] !== COLON) scanner.fail("expected ':'");
      scanner.at++;
      scanner.skipSpace();
      const valueStart = scanner.at;
      scanner.value();
      members.push({ key, start, end: scanner.at, valueStart });
      scanner.skipSpace();
      const next = json[scanner.at++];
      if (next === CLOSE_OBJECT) break;
      if (next !== COMMA_BYTE) scanner.fail("expected ',' or '}'", scanner.at - 1);
    }
  }
  const close = scanner.at - 1;
  scanner.skipSpace();
  if (scanner.at !== json.length) scanner.fail("unexpected text after the object");
  return { open, close, members };
}

/** A cursor over the bytes that skips one JSON value at a time and checks its grammar. */
class Scanner {
  at = 0;
  constructor(
    private readonly json: Uint8Array,
    private readonly parsed: boolean,
  ) {}

  /** A string: checked, or skipped if the bytes are known to be JSON. */
  anyString(): void {
    if (this.parsed) this.knownString();
    else this.string();
  }

  /**
   * A string in bytes known to be JSON: its closing quote is the first quote after an even
   * run of backslashes. The first bytes are read one at a time (most keys and small values
   * end there), then the platform searches for quotes; after an escaped one, a stretch is
   * read one at a time again, so that text dense with escaped quotes costs no more than the
   * byte loop.
   */
  private knownString(): void {
    const json = this.json;
    let at = this.at + 1;
    let slow = PEEK;
    for (;;) {
      for (; slow > 0; slow--) {
        const c = json[at];
        if (c === QUOTE) {
          this.at = at + 1;
          return;
        }
        if (c === undefined) this.fail("unterminated string");
        at += c === BACKSLASH ? 2 : 1;
      }
      const quote = json.indexOf(QUOTE, at);
      if (quote === -1) this.fail("unterminated string", json.length);
      let run = quote;
      while (json[run - 1] === BACKSLASH) run--;
      if ((quote - run) % 2 === 0) {
        this.at = quote + 1;
        return;
      }
      at = quote + 1;
      slow = STRETCH;
    }
  }

  fail(reason: string, at = this.at): never {
    throw new MalformedJson(at, at >= this.json.length ? `${reason} (the body ended)` : reason);
  }

  skipSpace(): void {
    while (this.at < this.json.length && isSpace(this.json[this.at] as number)) this.at++;
  }

  /** One value, however deep: containers are tracked on a stack, not by recursion. */
  value(): void {
    const json = this.json;
    const stack: number[] = [];
    for (;;) {
      this.skipSpace();
      const c = json[this.at];
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.at++;
        this.skipSpace();
        const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
        if (json[this.at] === close) {
          this.at++;
        } else {
          stack.push(close);
          if (close === CLOSE_OBJECT) this.memberKey();
          continue;
        }
      } else if (c === QUOTE) {
        this.anyString();
      } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
        this.number();
      } else {
        this.literal();
      }
      // After a value: close containers, or move to the next element.
      for (;;) {
        const close = stack.at(-1);
        if (close === undefined) return;
        this.skipSpace();
        const next = json[this.at];
        if (next === close) {
          this.at++;
          stack.pop();
          continue;
        }
        if (next !== COMMA_BYTE) {
          this.fail(close === CLOSE_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        this.at++;
        if (close === CLOSE_OBJECT) this.memberKey();
        break;
      }
    }
  }

  /** A key and its colon, inside a nested object. */
  private memberKey(): void {
    this.skipSpace();
    if (this.json[this.at] !== QUOTE) this.fail("expected a key");
    this.anyString();
    this.skipSpace();
    if (this.json[this.at] !== COLON) this.fail("expected ':'");
    this.at++;
  }

  private string(): void {
    const json = this.json;
    this.at++; // the opening quote
    for (;;) {
      const c = json[this.at];
      if (c === undefined) this.fail("unterminated string");
      if (c === QUOTE) {
        this.at++;
        return;
      }
      if (c < 0x20) this.fail("control character in a string");
      if (c === BACKSLASH) {
        const e = json[this.at + 1];
        if (e === 0x75) {
          for (let i = 2; i < 6; i++) {
            if (!isHex(json[this.at + i])) this.fail("invalid \\u escape", this.at + i);
          }
          this.at += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) this.fail("invalid escape", this.at + 1);
        this.at += 2;
        continue;
      }
      this.at++;
    }
  }

  private number(): void {
    const json = this.json;
    if (json[this.at] === 0x2d) this.at++;
    if (json[this.at] === 0x30) this.at++;
    else if (!this.digits()) this.fail("invalid number");
    if (json[this.at] === 0x2e) {
      this.at++;
      if (!this.digits()) this.fail("invalid number");
    }
    if (json[this.at] === 0x65 || json[this.at] === 0x45) {
      this.at++;
      if (json[this.at] === 0x2b || json[this.at] === 0x2d) this.at++;
      if (!this.digits()) this.fail("invalid number");
    }
  }

  private digits(): boolean {
    const from = this.at;
    while (isDigit(this.json[this.at])) this.at++;
    return this.at > from;
  }

  private literal(): void {
    for (const word of LITERALS) {
      if (word.every((byte, i) => this.json[this.at + i] === byte)) {
        this.at += word.length;
        return;
      }
    }
    this.fail("unexpected character");
  }
}

/** Bytes of a known string read one at a time before searching: most keys end within them. */
const PEEK = 8;
/** Bytes read one at a time after an escaped quote, before searching again. */
const STRETCH = 8;

/** The characters after a backslash that JSON allows, besides `u`. */
const ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));
const LITERALS = ["true", "false", "null"].map((word) => [...encoder.encode(word)]);

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined &&
    ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}
