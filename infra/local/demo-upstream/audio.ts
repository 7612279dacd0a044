import type { ServerResponse } from "node:http";
import type { UpstreamFault } from "../demo-upstream";
import { writeChunks } from "./stream";
import { wavHeader } from "./wav";

/** The containers the speech endpoints answer in. */
export type AudioContainer = "mp3" | "ogg" | "webm" | "aac" | "flac" | "wav" | "pcm";

const SAMPLE_RATE = 24_000;
/** Each character of the input "speaks" for 50 ms at speed 1. */
const SECONDS_PER_CHARACTER = 0.05;

/** The first bytes of each container, so a client (or a test) can tell them apart. */
const MAGIC: Record<Exclude<AudioContainer, "wav">, Buffer> = {
  mp3: Buffer.from("ID3\x04\x00\x00\x00\x00\x00\x00", "latin1"), // an empty ID3v2.4 tag
  ogg: Buffer.from("OggS\x00\x02", "latin1"),
  webm: Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), // EBML
  aac: Buffer.from([0xff, 0xf1]), // ADTS sync word
  flac: Buffer.from("fLaC", "latin1"),
  pcm: Buffer.alloc(0),
};

/**
 * Deterministic "speech": one short tone per character of `text` (24 kHz, 16-bit mono), so
 * the length grows with the input and shrinks with `speed`. The WAV container is a real
 * WAV; the others are the container's magic bytes followed by the same samples.
 */
export function demoAudio(container: AudioContainer, text: string, speed = 1): Buffer {
  const samplesPerChar = Math.max(1, Math.round((SAMPLE_RATE * SECONDS_PER_CHARACTER) / speed));
  const chars = Array.from(text);
  const pcm = Buffer.alloc(chars.length * samplesPerChar * 2);
  chars.forEach((char, c) => {
    const frequency = 200 + ((char.codePointAt(0) ?? 0) % 64) * 10;
    for (let i = 0; i < samplesPerChar; i++) {
      const sample = Math.round(4000 * Math.sin((2 * Math.PI * frequency * i) / SAMPLE_RATE));
      pcm.writeInt16LE(sample, (c * samplesPerChar + i) * 2);
    }
  });
  const head = container === "wav" ? wavHeader(pcm.length, SAMPLE_RATE) : MAGIC[container];
  return Buffer.concat([head, pcm]);
}

/**
 * Sends audio in four chunks with chunked transfer encoding, as the real services stream
 * it, so a relay's streaming (and the stream faults) can be observed.
 */
export async function sendAudio(
  res: ServerResponse,
  contentType: string,
  audio: Buffer,
  fault: UpstreamFault,
  state: { paused: boolean },
): Promise<void> {
  res.writeHead(200, { "content-type": contentType, "transfer-encoding": "chunked" });
  const size = Math.ceil(audio.length / 4);
  const chunks = [0, 1, 2, 3]
    .map((i) => audio.subarray(i * size, (i + 1) * size))
    .filter((chunk) => chunk.length > 0);
  if (await writeChunks(res, chunks, fault, state)) res.end();
}
