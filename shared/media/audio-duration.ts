/**
 * How long an uploaded recording is, for billing speech to text when the upstream says
 * neither the duration nor the tokens. A file's headers are the caller's word. Only WAV's
 * length is what its decoder plays by (the data's bytes at the sample rate and frame size:
 * forge either and the audio is noise), so a WAV is billed its length, never less than its
 * bytes at the top rate PCM allows (the floor). Every other container states its length in a
 * field that decoders ignore (Ogg's last granule, MP3's Xing count, MP4's mvhd, WebM's
 * Duration), so a caller could state a 40-minute recording as 12 seconds: those are billed
 * what their hold assumed, their bytes at the lowest rate their codec allows (the ceiling),
 * or their stated length if it is longer. Only headers are read (for Ogg, also the last
 * page); nothing is decoded.
 */

export type AudioContainer = "wav" | "ogg" | "mp3" | "flac" | "mp4" | "webm" | "unknown";

export interface AudioInspection {
  container: AudioContainer;
  /** What the file's own headers say (WAV: data bytes / (sampleRate × frame size) — never the byteRate field; Ogg: last page's granule position (Opus: 48 kHz minus pre-skip; Vorbis: ident header's rate); MP3: Xing/Info/VBRI frame count or CBR bitrate; FLAC: STREAMINFO total samples / rate; MP4/M4A: mvhd (or mdhd) duration / timescale; WebM/Matroska: Segment Info Duration × TimestampScale, or for browser recordings without it the last cluster's timestamp plus its last block's offset). Undefined when absent or unreadable. */
  declaredSeconds?: number;
  /** Whether `declaredSeconds` is what a decoder plays (PCM WAV), not a field it ignores. */
  played?: boolean;
  /** bytes ÷ the highest byte rate the container/codec allows: what the caller can never get below. */
  floorSeconds: number;
  /** What holds assume: max(declaredSeconds, bytes ÷ the lowest byte rate the container allows). */
  ceilingSeconds: number;
}

type Codec = "pcm" | "flac" | "mp3" | "mp2" | "aac" | "opus" | "vorbis" | "unknown";
type Rates = { max: number; min: number };

const kbps = (kilobits: number) => kilobits * 125;

/**
 * Bytes per second of each codec as uploaded, container framing included. `max` must be at
 * least what any real encoder writes, or an honest file would be billed past its length (one
 * padded beyond it only bills itself more); `min` is what a hold assumes.
 */
const LISTED: Record<Exclude<Codec, "unknown">, Rates> = {
  // WAV PCM: speech models resample to 16 kHz mono, so 48 kHz stereo 32-bit is past anything
  // useful; 8 kHz mono 8-bit (telephone quality) is as lean as PCM gets.
  pcm: { max: 48_000 * 2 * 4, min: 8_000 * 1 * 1 },
  // FLAC: never bigger than the PCM it encodes plus frame headers (a verbatim subframe is the
  // PCM itself); 8 kHz mono 8-bit speech still takes about half its 64 kbit/s, 16 allows pauses.
  flac: { max: 400_000, min: kbps(16) },
  // MPEG-1 Layer III tops out at 320 kbit/s, plus 3% for the Xing frame and tags of a clip as
  // short as a second; MPEG-2.5 Layer III goes down to 8.
  mp3: { max: kbps(330), min: kbps(8) },
  // Layers I and II (.mpeg/.mpga uploads may be either) top out at 448 and 384 kbit/s, plus 3%
  // as for Layer III; MPEG-2 Layer II goes down to 8.
  mp2: { max: kbps(462), min: kbps(8) },
  // AAC-LC allows 6144 bits per channel per 1024-sample frame, 576 kbit/s at 48 kHz stereo,
  // plus the MP4 sample tables; HE-AAC v2 and xHE-AAC go down to 6 kbit/s.
  aac: { max: kbps(600), min: kbps(6) },
  // Opus: 510 kbit/s is the codec's top (opusenc and ffmpeg stop at 512 for stereo), plus
  // Ogg/WebM page framing; 6 kbit/s its bottom.
  opus: { max: kbps(520), min: kbps(6) },
  // Vorbis: libvorbis at its best quality (q10) writes about 500 kbit/s of 48 kHz stereo; its
  // leanest modes stay above Opus's 6 kbit/s.
  vorbis: { max: kbps(520), min: kbps(6) },
};

/** A codec named but not listed could be anything: floor from the highest, hold from the lowest. */
const RATES: Record<Codec, Rates> = {
  ...LISTED,
  unknown: {
    max: Math.max(...Object.values(LISTED).map((rates) => rates.max)),
    min: Math.min(...Object.values(LISTED).map((rates) => rates.min)),
  },
};

/** A container whose headers name no codec holds its usual one: hiding the codec gains nothing. */
const USUAL: Record<AudioContainer, Codec> = {
  wav: "pcm",
  ogg: "opus",
  mp3: "mp3",
  flac: "flac",
  mp4: "aac",
  webm: "opus",
  unknown: "unknown",
};

export function inspectAudio(data: Uint8Array): AudioInspection {
  const file = new Bytes(data);
  const { container, start } = sniff(file);
  const found: Found = {};
  try {
    PARSERS[container]?.(file, start, found);
  } catch {
    // Reads go through DataView, which throws past the end: a truncated or lying header is
    // unreadable, and whatever was found before it stands.
  }
  const rates = RATES[found.codec ?? USUAL[container]];
  const floorSeconds = data.byteLength / rates.max;
  const ceilingSeconds = data.byteLength / rates.min;
  const declared = found.declared;
  if (declared === undefined || !Number.isFinite(declared) || declared < 0)
    return { container, floorSeconds, ceilingSeconds };
  return {
    container,
    declaredSeconds: declared,
    ...(found.played ? { played: true } : {}),
    floorSeconds,
    ceilingSeconds: Math.max(declared, ceilingSeconds),
  };
}

/**
 * What to bill when the upstream reports nothing: a WAV's played length (never below the
 * floor); any other file, what its hold assumed (the ceiling).
 */
export function billableSeconds(inspection: AudioInspection): number {
  const { declaredSeconds, floorSeconds, ceilingSeconds } = inspection;
  if (!inspection.played) return ceilingSeconds;
  // Written so that a NaN declared (from a hand-made inspection) falls back to the floor.
  return declaredSeconds !== undefined && declaredSeconds > floorSeconds
    ? declaredSeconds
    : floorSeconds;
}

/** What a parser learnt; it fills this as it goes so that a later bad read loses nothing. */
interface Found {
  codec?: Codec;
  declared?: number;
  /** The declared length is what decoders play by. */
  played?: boolean;
}

class Bytes {
  readonly view: DataView;
  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  get length(): number {
    return this.data.byteLength;
  }
  /** Latin-1 text, at most 64 bytes of it: enough for any tag or codec name. */
  text(at: number, length: number): string {
    return String.fromCharCode(...this.data.subarray(at, at + Math.min(length, 64)));
  }
  /** An unsigned big-endian integer of up to 8 bytes, exact up to 2^53. */
  uint(at: number, length: number): number {
    let value = 0;
    for (let i = 0; i < Math.min(length, 8); i++) value = value * 256 + this.view.getUint8(at + i);
    return value;
  }
}

function sniff(file: Bytes): { container: AudioContainer; start: number } {
  // ID3v2 tags come before MP3 (and sometimes FLAC) audio.
  let start = 0;
  while (file.text(start, 3) === "ID3" && start + 10 <= file.length) {
    const footer = (file.view.getUint8(start + 5) & 0x10) !== 0;
    const size = [6, 7, 8, 9].reduce((n, i) => n * 128 + (file.view.getUint8(start + i) & 0x7f), 0);
    start += 10 + size + (footer ? 10 : 0);
  }
  if (file.text(0, 4) === "RIFF" && file.text(8, 4) === "WAVE") return { container: "wav", start };
  if (file.text(0, 4) === "OggS") return { container: "ogg", start };
  if (file.text(start, 4) === "fLaC") return { container: "flac", start };
  if (file.text(4, 4) === "ftyp") return { container: "mp4", start };
  if (file.text(0, 4) === "\x1a\x45\xdf\xa3") return { container: "webm", start };
  if (start > 0 || mpegFrame(file, 0)) return { container: "mp3", start };
  return { container: "unknown", start };
}

/**
 * Where the walks below look, honest files have a handful of chunks, boxes or elements, and an
 * Ogg stream ends within a few pages of its last granule: a walk that takes more steps than
 * this is on hostile input, and gives up rather than spend seconds on it.
 */
const STEPS = 10_000;

const PARSERS: Partial<Record<AudioContainer, (file: Bytes, start: number, found: Found) => void>> =
  { wav, ogg, mp3, flac, mp4, webm };

/** PCM, IEEE float, A-law, µ-law: one block of blockAlign bytes per sample frame. */
const PCM_TAGS = [1, 3, 6, 7];

function wav(file: Bytes, _start: number, found: Found): void {
  const { view } = file;
  let perSecond: number | undefined;
  let dataBytes: number | undefined;
  for (let at = 12, step = 0; at + 8 <= file.length && step < STEPS; step++) {
    const id = file.text(at, 4);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      let tag = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real tag opens the subformat GUID.
      if (tag === 0xfffe) tag = view.getUint16(body + 24, true);
      found.codec = PCM_TAGS.includes(tag) ? "pcm" : tag === 0x55 ? "mp3" : "unknown";
      // The byteRate field (body + 8) is never read: decoders ignore it, so it is free to lie.
      // A frame is channels × bytes per sample; a block alignment stated larger would shorten
      // the length without changing what a decoder plays, so the smaller of the two counts.
      const channels = view.getUint16(body + 2, true);
      const frame = channels * Math.ceil(view.getUint16(body + 14, true) / 8);
      perSecond = view.getUint32(body + 4, true) * Math.min(view.getUint16(body + 12, true), frame);
    }
    if (id === "data") {
      // Everything from here on is counted as audio: streamed WAVs leave the size unset (0 or
      // 0xFFFFFFFF), truncated ones overstate it, and one that understates it could hide its
      // audio in the chunks after.
      dataBytes = file.length - body;
      if (perSecond !== undefined) break;
    }
    at = body + size + (size % 2);
  }
  if (found.codec === "pcm" && perSecond !== undefined && dataBytes !== undefined) {
    found.declared = dataBytes / perSecond;
    found.played = true;
  }
}

function ogg(file: Bytes, _start: number, found: Found): void {
  const { view } = file;
  const first = 27 + view.getUint8(26);
  let rate: number;
  let preSkip = 0;
  if (file.text(first, 8) === "OpusHead") {
    found.codec = "opus";
    rate = 48_000;
    preSkip = view.getUint16(first + 10, true);
  } else if (file.text(first, 7) === "\x01vorbis") {
    found.codec = "vorbis";
    rate = view.getUint32(first + 12, true);
  } else if (file.text(first, 5) === "\x7fFLAC") {
    found.codec = "flac";
    rate = streamInfo(file, first + 17).rate;
  } else {
    found.codec = "unknown";
    return;
  }
  // The last page of this stream that ends a packet: scan back for its capture pattern.
  const serial = view.getUint32(14, true);
  const bytes = Buffer.from(file.data.buffer, file.data.byteOffset, file.length);
  for (
    let at = bytes.lastIndexOf("OggS", file.length - 27), step = 0;
    at > 0 && step < STEPS;
    step++
  ) {
    const high = view.getUint32(at + 10, true);
    // A granule with the top bit set is -1 (no packet ends on this page) or not one at all; a
    // page cut short by the end of the upload does not hold what its granule counts.
    if (
      view.getUint8(at + 4) === 0 &&
      view.getUint32(at + 14, true) === serial &&
      high < 0x80000000 &&
      pageEnd(file, at) <= file.length
    ) {
      found.declared = (high * 2 ** 32 + view.getUint32(at + 6, true) - preSkip) / rate;
      return;
    }
    at = bytes.lastIndexOf("OggS", at - 1);
  }
}

/** Where the Ogg page at `at` ends: header, segment table, then the segments it lists. */
function pageEnd(file: Bytes, at: number): number {
  const table = at + 27;
  const count = file.view.getUint8(at + 26);
  return table + count + file.data.subarray(table, table + count).reduce((sum, n) => sum + n, 0);
}

function mp3(file: Bytes, start: number, found: Found): void {
  // Some files have junk before the first frame: skip a little, to a frame another follows.
  for (let at = start; at < Math.min(start + 65_536, file.length); at++) {
    const frame = mpegFrame(file, at);
    if (!frame || (at + frame.bytes < file.length && !mpegFrame(file, at + frame.bytes))) continue;
    found.codec = frame.layer === 3 ? "mp3" : "mp2";
    const side = frame.mpeg1 ? (frame.mono ? 17 : 32) : frame.mono ? 9 : 17;
    const xing = at + 4 + (frame.crc ? 2 : 0) + side;
    let frames: number | undefined;
    const tag = file.text(xing, 4);
    if ((tag === "Xing" || tag === "Info") && (file.view.getUint32(xing + 4) & 1) !== 0)
      frames = file.view.getUint32(xing + 8);
    else if (file.text(at + 36, 4) === "VBRI") frames = file.view.getUint32(at + 36 + 14);
    found.declared =
      frames !== undefined
        ? (frames * frame.samples) / frame.sampleRate
        : ((file.length - at) * 8) / (frame.kbps * 1000);
    return;
  }
}

const MPEG_KBPS = {
  v1l1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

/** An MPEG audio frame header at `at`; free-format and reserved values are not frames here. */
function mpegFrame(file: Bytes, at: number) {
  if (at + 4 > file.length) return undefined;
  const header = file.view.getUint32(at);
  const version = (header >>> 19) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = 4 - ((header >>> 17) & 3);
  const rateIndex = (header >>> 12) & 15;
  const sampleRateIndex = (header >>> 10) & 3;
  if (header >>> 21 !== 0x7ff || version === 1 || layer === 4 || sampleRateIndex === 3)
    return undefined;
  const mpeg1 = version === 3;
  const table = mpeg1
    ? [MPEG_KBPS.v1l1, MPEG_KBPS.v1l2, MPEG_KBPS.v1l3][layer - 1]
    : layer === 1
      ? MPEG_KBPS.v2l1
      : MPEG_KBPS.v2l23;
  const kbps = table?.[rateIndex];
  if (!kbps) return undefined;
  const sampleRate =
    ([44_100, 48_000, 32_000][sampleRateIndex] ?? 0) / (mpeg1 ? 1 : version === 2 ? 2 : 4);
  const samples = layer === 1 ? 384 : layer === 3 && !mpeg1 ? 576 : 1152;
  const padding = (header >>> 9) & 1;
  const bytes =
    layer === 1
      ? (Math.floor((12 * kbps * 1000) / sampleRate) + padding) * 4
      : Math.floor(((samples / 8) * kbps * 1000) / sampleRate) + padding;
  return {
    layer,
    mpeg1,
    kbps,
    sampleRate,
    samples,
    bytes,
    mono: ((header >>> 6) & 3) === 3,
    crc: ((header >>> 16) & 1) === 0,
  };
}

function flac(file: Bytes, start: number, found: Found): void {
  found.codec = "flac";
  // The first metadata block must be STREAMINFO (type 0).
  if ((file.view.getUint8(start + 4) & 0x7f) !== 0) return;
  const { rate, samples } = streamInfo(file, start + 8);
  // 0 samples means the encoder did not know.
  if (samples > 0) found.declared = samples / rate;
}

/** FLAC STREAMINFO: 20 bits of sample rate, then channels and depth, then 36 bits of samples. */
function streamInfo(file: Bytes, at: number): { rate: number; samples: number } {
  return {
    rate: file.view.getUint32(at + 10) >>> 12,
    samples: (file.view.getUint8(at + 13) & 0x0f) * 2 ** 32 + file.view.getUint32(at + 14),
  };
}

interface Span {
  type: string | number;
  body: number;
  end: number;
}

/** ISO BMFF boxes between start and end; every step moves on at least 8 bytes. */
function* boxes(file: Bytes, start: number, end: number): Generator<Span> {
  for (let at = start, step = 0; at + 8 <= end && step < STEPS; step++) {
    let size = file.view.getUint32(at);
    let header = 8;
    if (size === 1) {
      size = file.uint(at + 8, 8);
      header = 16;
    } else if (size === 0) size = end - at; // runs to the end
    if (size < header) return;
    yield { type: file.text(at + 4, 4), body: at + header, end: Math.min(at + size, end) };
    at += size;
  }
}

function child(spans: Iterable<Span>, type: string | number): Span | undefined {
  for (const span of spans) if (span.type === type) return span;
  return undefined;
}

const MP4_CODECS: Record<string, Codec> = {
  mp4a: "aac", // also MP3 in MP4, whose rates lie within AAC's
  Opus: "opus",
  fLaC: "flac",
  alac: "flac", // lossless too
  ".mp3": "mp3",
};

function mp4(file: Bytes, _start: number, found: Found): void {
  const moov = child(boxes(file, 0, file.length), "moov");
  if (!moov) return;
  let trackSeconds: number | undefined;
  for (const trak of boxes(file, moov.body, moov.end)) {
    const mdia = trak.type === "trak" ? child(boxes(file, trak.body, trak.end), "mdia") : undefined;
    if (!mdia) continue;
    const hdlr = child(boxes(file, mdia.body, mdia.end), "hdlr");
    if (!hdlr || file.text(hdlr.body + 8, 4) !== "soun") continue;
    const minf = child(boxes(file, mdia.body, mdia.end), "minf");
    const stbl = minf && child(boxes(file, minf.body, minf.end), "stbl");
    const stsd = stbl && child(boxes(file, stbl.body, stbl.end), "stsd");
    // stsd: version and flags, entry count, then the first entry's size and type (the codec).
    if (stsd) found.codec = MP4_CODECS[file.text(stsd.body + 12, 4)] ?? "unknown";
    trackSeconds = timed(file, child(boxes(file, mdia.body, mdia.end), "mdhd"));
    break;
  }
  found.declared = timed(file, child(boxes(file, moov.body, moov.end), "mvhd")) ?? trackSeconds;
}

/** mvhd and mdhd: duration / timescale, after creation and modification times (v1: 64-bit). */
function timed(file: Bytes, box: Span | undefined): number | undefined {
  if (!box) return undefined;
  const v1 = file.view.getUint8(box.body) === 1;
  const scale = file.view.getUint32(box.body + (v1 ? 20 : 12));
  const duration = file.uint(box.body + (v1 ? 24 : 16), v1 ? 8 : 4);
  // All ones means unknown; 0 (fragmented files) means the length is in the fragments.
  if (duration === (v1 ? 2 ** 64 - 1 : 0xffffffff)) return undefined;
  return duration / scale || undefined;
}

/** EBML variable-length integer: the leading zeros of the first byte give its length. */
function vint(file: Bytes, at: number, id: boolean): { value: number; length: number } {
  const first = file.view.getUint8(at);
  const length = Math.clz32(first) - 23;
  if (length > 8) throw new RangeError("not an EBML integer");
  const value =
    file.uint(at + 1, length - 1) + (id ? first : first & (0xff >> length)) * 256 ** (length - 1);
  return { value, length };
}

/** EBML elements between start and end; an element of unknown size runs to the end, and ends the walk. */
function* elements(file: Bytes, start: number, end: number): Generator<Span> {
  for (let at = start, step = 0; at < end && step < STEPS; step++) {
    const id = vint(file, at, true);
    const size = vint(file, at + id.length, false);
    const body = at + id.length + size.length;
    const unknown = size.value === 2 ** (7 * size.length) - 1;
    yield { type: id.value, body, end: unknown ? end : Math.min(body + size.value, end) };
    if (unknown) return;
    at = body + size.value;
  }
}

const EBML = {
  segment: 0x18538067,
  info: 0x1549a966,
  timestampScale: 0x2ad7b1,
  duration: 0x4489,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackType: 0x83,
  codecId: 0x86,
  cluster: 0x1f43b675,
  clusterTimestamp: 0xe7,
  simpleBlock: 0xa3,
};

const WEBM_CODECS: [string, Codec][] = [
  ["A_OPUS", "opus"],
  ["A_VORBIS", "vorbis"],
  ["A_AAC", "aac"],
  ["A_MPEG/L3", "mp3"],
  ["A_MPEG/L", "mp2"],
  ["A_FLAC", "flac"],
  ["A_PCM/", "pcm"],
];

function webm(file: Bytes, _start: number, found: Found): void {
  const segment = child(elements(file, 0, file.length), EBML.segment);
  if (!segment) return;
  let scale = 1_000_000; // nanoseconds per tick, unless Info says otherwise
  let duration: number | undefined;
  for (const element of elements(file, segment.body, segment.end)) {
    // Info and Tracks come before the first cluster; clusters are the audio itself.
    if (element.type === EBML.cluster) break;
    if (element.type === EBML.info) {
      for (const field of elements(file, element.body, element.end)) {
        const size = field.end - field.body;
        if (field.type === EBML.timestampScale) scale = file.uint(field.body, Math.min(size, 8));
        if (field.type === EBML.duration && (size === 4 || size === 8))
          duration =
            size === 4 ? file.view.getFloat32(field.body) : file.view.getFloat64(field.body);
      }
    }
    if (element.type === EBML.tracks && found.codec === undefined) {
      for (const entry of elements(file, element.body, element.end)) {
        if (entry.type !== EBML.trackEntry) continue;
        const fields = [...elements(file, entry.body, entry.end)];
        const type = child(fields, EBML.trackType);
        const codec = child(fields, EBML.codecId);
        if (!type || !codec || file.uint(type.body, type.end - type.body) !== 2) continue; // 2: audio
        const name = file.text(codec.body, codec.end - codec.body);
        found.codec = WEBM_CODECS.find(([prefix]) => name.startsWith(prefix))?.[1] ?? "unknown";
        break;
      }
    }
  }
  duration ??= lastBlockTime(file);
  if (duration !== undefined) found.declared = (duration * scale) / 1e9;
}

/**
 * Browser recordings (MediaRecorder) have no Duration: the last cluster's timestamp plus the
 * offset of its last block is the length, to within a block. Found like Ogg's last page, by
 * scanning back for the cluster's ID; its first child must be its timestamp.
 */
function lastBlockTime(file: Bytes): number | undefined {
  const bytes = Buffer.from(file.data.buffer, file.data.byteOffset, file.length);
  const id = Buffer.from("1f43b675", "hex");
  for (let at = bytes.lastIndexOf(id), step = 0; at > 0 && step < STEPS; step++) {
    let start: number | undefined;
    let offset = 0;
    try {
      const [cluster] = elements(file, at, file.length);
      for (const part of elements(file, cluster?.body ?? file.length, cluster?.end ?? 0)) {
        if (start === undefined && part.type !== EBML.clusterTimestamp) break;
        if (part.type === EBML.clusterTimestamp) start = file.uint(part.body, part.end - part.body);
        // A SimpleBlock: track number (an EBML integer), then a signed 16-bit offset.
        if (part.type === EBML.simpleBlock)
          offset = file.view.getInt16(part.body + vint(file, part.body, false).length);
      }
    } catch {
      // The upload ends inside a block: the blocks before it count.
    }
    if (start !== undefined) return start + Math.max(offset, 0);
    at = bytes.lastIndexOf(id, at - 1);
  }
  return undefined;
}
