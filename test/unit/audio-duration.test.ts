import { describe, expect, it, vi } from "vitest";
import {
  type AudioInspection,
  billableSeconds,
  inspectAudio,
} from "../../shared/media/audio-duration";
import {
  ascii,
  box,
  chunk,
  concat,
  element,
  flac,
  float64,
  id3,
  mp3Cbr,
  mp3Frame,
  mp3Xing,
  mp4,
  oggOpus,
  oggPage,
  oggVorbis,
  opusHead,
  timedBox,
  u16le,
  u32be,
  u32le,
  u64be,
  wav,
  webm,
  zeros,
} from "../fixtures/audio-files";

// Highest and lowest byte rates from the module's table, as the tests expect them.
const OPUS_MAX = 65_000; // 520 kbit/s
const LOWEST = 750; // 6 kbit/s, the lowest of all
const HIGHEST = 400_000; // FLAC's, the highest of all

/** mulberry32: a small seeded generator, so every run tests the same bytes. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The promises every inspection keeps, whatever the bytes. */
function expectSound(inspection: AudioInspection, bytes: number): void {
  const billable = billableSeconds(inspection);
  expect(Number.isFinite(inspection.floorSeconds)).toBe(true);
  expect(Number.isFinite(inspection.ceilingSeconds)).toBe(true);
  expect(inspection.floorSeconds).toBeGreaterThanOrEqual(bytes / HIGHEST);
  expect(inspection.floorSeconds).toBeLessThanOrEqual(billable);
  expect(billable).toBeLessThanOrEqual(inspection.ceilingSeconds);
  if (inspection.declaredSeconds !== undefined) {
    expect(Number.isFinite(inspection.declaredSeconds)).toBe(true);
    expect(inspection.declaredSeconds).toBeGreaterThanOrEqual(0);
  }
}

function inspect(data: Uint8Array): AudioInspection {
  const inspection = inspectAudio(data);
  expectSound(inspection, data.byteLength);
  return inspection;
}

// ---- tests ---------------------------------------------------------------------------------

describe("WAV", () => {
  it("takes the length from sample rate × block align, not the forged byteRate field", () => {
    const file = wav({ seconds: 150, byteRate: 0x7fffffff });
    const inspection = inspect(file);
    expect(inspection).toMatchObject({ container: "wav", declaredSeconds: 150 });
    expect(billableSeconds(inspection)).toBe(150);
    expect(inspection.floorSeconds).toBeCloseTo(file.byteLength / 384_000, 9);
    // 8 kHz mono 8-bit is the leanest PCM: the hold assumes it.
    expect(inspection.ceilingSeconds).toBeCloseTo(file.byteLength / 8_000, 9);
  });

  it("reads stereo, extensible and streamed (size unset or past the end) files", () => {
    expect(inspect(wav({ seconds: 2.5, rate: 44_100, channels: 2 })).declaredSeconds).toBe(2.5);
    const extensible = wav({ seconds: 3, tag: 0xfffe });
    // cbSize, valid bits, channel mask, then the subformat GUID opening with the PCM tag.
    const fmt = concat(u16le(22), u16le(16), u32le(4), u16le(1), zeros(14));
    const withExtension = concat(
      ascii("RIFF"),
      u32le(0),
      ascii("WAVE"),
      chunk("fmt ", concat(extensible.subarray(20, 36), fmt)),
      extensible.subarray(36),
    );
    expect(inspect(withExtension).declaredSeconds).toBe(3);
    expect(inspect(wav({ seconds: 4, dataSize: 0xffffffff })).declaredSeconds).toBe(4);
    expect(inspect(wav({ seconds: 4, dataSize: 0 })).declaredSeconds).toBe(4);
    expect(inspect(wav({ seconds: 1, dataSize: 10_000_000 })).declaredSeconds).toBe(1);
  });

  it("declares nothing for codecs other than PCM, and bills them as any codec", () => {
    const adpcm = wav({ seconds: 10, tag: 0x11 });
    const inspection = inspect(adpcm);
    expect(inspection.declaredSeconds).toBeUndefined();
    expect(inspection.floorSeconds).toBeCloseTo(adpcm.byteLength / HIGHEST, 9);
    expect(inspection.ceilingSeconds).toBeCloseTo(adpcm.byteLength / LOWEST, 9);
  });

  it("counts a frame as channels × sample size when the block alignment states more", () => {
    const file = wav({ seconds: 150 });
    Buffer.from(file.buffer).writeUInt16LE(200, 32); // blockAlign: 200 bytes a frame
    const inspection = inspect(file);
    expect(inspection).toMatchObject({ declaredSeconds: 150, played: true });
    expect(billableSeconds(inspection)).toBe(150);
  });

  it("counts audio hidden after a data chunk that understates its size", () => {
    const audio = wav({ seconds: 150 });
    Buffer.from(audio.buffer).writeUInt32LE(2, 40); // the data chunk says 2 bytes
    expect(billableSeconds(inspect(audio))).toBe(150);
    const hidden = concat(wav({ seconds: 0.001 }), chunk("junk", zeros(150 * 32_000)));
    expect(billableSeconds(inspect(hidden))).toBeGreaterThan(150);
  });

  it("lets a caller forging the sample rate pay no less than the floor", () => {
    const file = wav({ seconds: 150 });
    Buffer.from(file.buffer).writeUInt32LE(0x7fffffff, 24);
    const inspection = inspect(file);
    expect(billableSeconds(inspection)).toBeCloseTo(file.byteLength / 384_000, 9);
  });
});

describe("Ogg", () => {
  it("reads Opus from the last granule, minus the pre-skip, and bills what the hold assumes", () => {
    const file = oggOpus(150, 6);
    const inspection = inspect(file);
    expect(inspection.container).toBe("ogg");
    expect(inspection.declaredSeconds).toBeCloseTo(150, 9);
    expect(inspection.played).toBeUndefined();
    expect(inspection.floorSeconds).toBeCloseTo(file.byteLength / OPUS_MAX, 9);
    expect(inspection.ceilingSeconds).toBeCloseTo(Math.max(150, file.byteLength / LOWEST), 9);
    // The granule is a field decoders ignore: the bill is the hold's figure, its bytes at
    // Opus's lowest rate (6 kbit/s of audio plus Ogg's framing come to a little more than 150 s).
    expect(billableSeconds(inspection)).toBe(inspection.ceilingSeconds);
    expect(billableSeconds(inspection)).toBeGreaterThanOrEqual(150);
  });

  it("bills a 40-minute Opus recording whose last granule is forged to 12 s at least 40 minutes", () => {
    const real = oggOpus(40 * 60, 6);
    const forged = concat(
      real,
      oggPage({ granule: 12n * 48_000n, packets: [zeros(15)], sequence: 99_999, flags: 4 }),
    );
    const inspection = inspect(forged);
    expect(inspection.declaredSeconds).toBeCloseTo(12 - 312 / 48_000, 9);
    // Before: the floor, its bytes at Opus's top rate, about 0.5 minutes.
    expect(inspection.floorSeconds / 60).toBeLessThan(1);
    expect(billableSeconds(inspection)).toBeGreaterThanOrEqual(40 * 60);
    expect(billableSeconds(inspection)).toBeCloseTo(forged.byteLength / LOWEST, 9);
    // An honest recording at a higher rate is billed its stated length when that is longer.
    const long = oggOpus(600, 24);
    expect(billableSeconds(inspect(long))).toBe(Math.max(600 - 312 / 48_000, long.length / LOWEST));
  });

  it("skips pages that end no packet, belong to another stream, or are cut short", () => {
    const base = oggOpus(10, 24);
    const noGranule = oggPage({
      granule: 0xffffffffffffffffn,
      packets: [zeros(100)],
      sequence: 50,
    });
    const other = oggPage({ granule: 48_000n * 999n, packets: [zeros(10)], serial: 7 });
    const cut = oggPage({ granule: 48_000n * 999n, packets: [zeros(300)], sequence: 51 });
    for (const tail of [noGranule, other, cut.subarray(0, 100)]) {
      expect(inspect(concat(base, tail)).declaredSeconds).toBeCloseTo(10, 9);
    }
  });

  it("reads Vorbis at the ident header's rate", () => {
    expect(inspect(oggVorbis(42, 44_100)).declaredSeconds).toBe(42);
  });

  it("declares nothing when only the headers are there, or the granule is below the pre-skip", () => {
    expect(inspect(oggOpus(0, 6)).declaredSeconds).toBeUndefined();
    const early = concat(
      oggOpus(0, 6),
      oggPage({ granule: 100n, packets: [zeros(10)], sequence: 2 }),
    );
    expect(inspect(early).declaredSeconds).toBeUndefined();
  });
});

describe("MP3", () => {
  it("reads a CBR file's length from its bitrate, past an ID3 tag", () => {
    const file = mp3Cbr(1000);
    const inspection = inspect(file);
    expect(inspection.container).toBe("mp3");
    // 1000 frames of 417 bytes at 128 kbit/s (1152 samples at 44.1 kHz, rounded down to bytes).
    expect(inspection.declaredSeconds).toBe(26.0625);
    expect(inspection.floorSeconds).toBeCloseTo(file.byteLength / 41_250, 9);
    expect(inspection.ceilingSeconds).toBeCloseTo(file.byteLength / 1_000, 9);
  });

  it("reads the Xing frame count, and bills a count forged small at MP3's lowest rate", () => {
    const stated = inspect(mp3Xing(10_000, 20));
    expect(stated.declaredSeconds).toBeCloseTo((10_000 * 1152) / 44_100, 9);
    expect(billableSeconds(stated)).toBe(stated.declaredSeconds);
    // 2,000 frames of 32 kbit/s (52 s) stated as one: billed their bytes at 8 kbit/s.
    const forged = mp3Xing(1, 2000);
    expect(billableSeconds(inspect(forged))).toBeCloseTo(forged.byteLength / 1_000, 9);
    expect(billableSeconds(inspect(forged))).toBeGreaterThan((2000 * 1152) / 44_100);
  });

  it("uses Layer II's higher top rate for MPEG Layer II frames", () => {
    const frame = mp3Frame(128);
    frame[1] = 0xfd; // MPEG-1 Layer II
    frame[2] = 8 << 4; // 128 kbit/s in Layer II's table
    const file = concat(...Array.from({ length: 100 }, () => frame));
    expect(inspect(file).floorSeconds).toBeCloseTo(file.byteLength / 57_750, 9);
  });
});

describe("FLAC, MP4, WebM", () => {
  it("reads FLAC's STREAMINFO", () => {
    const file = flac(16_000, 2_400_000, 2_000_000);
    const inspection = inspect(file);
    expect(inspection).toMatchObject({ container: "flac", declaredSeconds: 150 });
    expect(inspection.floorSeconds).toBeCloseTo(file.byteLength / 400_000, 9);
    expect(inspect(flac(16_000, 0, 1000)).declaredSeconds).toBeUndefined();
    expect(inspect(concat(id3(20), flac(8_000, 80_000, 100))).declaredSeconds).toBe(10);
  });

  it("reads MP4's mvhd (32- or 64-bit), or the audio track's mdhd", () => {
    const mvhd = timedBox("mvhd", 1000, 150_000n);
    const file = mp4({ mvhd, audioBytes: 100_000 });
    const inspection = inspect(file);
    expect(inspection).toMatchObject({ container: "mp4", declaredSeconds: 150 });
    expect(inspection.floorSeconds).toBeCloseTo(file.byteLength / 75_000, 9);
    const v1 = timedBox("mvhd", 44_100, 44_100n * 60n, 1);
    expect(inspect(mp4({ mvhd: v1, audioBytes: 10 })).declaredSeconds).toBe(60);
    const mdhd = timedBox("mdhd", 48_000, 48_000n * 7n);
    expect(inspect(mp4({ mdhd, audioBytes: 10 })).declaredSeconds).toBe(7);
    const unknown = timedBox("mvhd", 1000, 0xffffffffn);
    expect(inspect(mp4({ mvhd: unknown, audioBytes: 10 })).declaredSeconds).toBeUndefined();
    const fragmented = timedBox("mvhd", 1000, 0n);
    expect(inspect(mp4({ mvhd: fragmented, audioBytes: 10 })).declaredSeconds).toBeUndefined();
  });

  it("bills lossless MP4 (ALAC) at lossless rates", () => {
    const file = mp4({ mvhd: timedBox("mvhd", 1000, 1000n), codec: "alac", audioBytes: 100_000 });
    expect(inspect(file).floorSeconds).toBeCloseTo(file.byteLength / 400_000, 9);
  });

  it("reads WebM's Duration × TimestampScale, and the audio track's codec", () => {
    const file = webm({ seconds: 150, duration: float64(150_000) });
    const inspection = inspect(file);
    expect(inspection).toMatchObject({ container: "webm", declaredSeconds: 150 });
    expect(inspection.floorSeconds).toBeCloseTo(file.byteLength / OPUS_MAX, 9);
    const scaled = webm({ seconds: 1, duration: float64(150), scale: 1e9 });
    expect(inspect(scaled).declaredSeconds).toBe(150);
    const pcm = webm({ seconds: 1, codec: "A_PCM/INT/LIT", kbps: 256 });
    expect(inspect(pcm).floorSeconds).toBeCloseTo(pcm.byteLength / 384_000, 9);
  });

  it("reads a browser recording without Duration from its last cluster and block", () => {
    for (const sizes of ["known", "unknown"] as const) {
      const live = webm({ seconds: 150, sizes });
      // The last block starts 20 ms before the end.
      expect(inspect(live).declaredSeconds).toBeCloseTo(149.98, 9);
      // Cut inside the last block's payload, it still counts; inside its header, it cannot.
      expect(inspect(live.subarray(0, live.length - 10)).declaredSeconds).toBeCloseTo(149.98, 9);
      expect(inspect(live.subarray(0, live.length - 82)).declaredSeconds).toBeCloseTo(149.96, 9);
      // Forged small: billed the hold's figure, its bytes at Opus's lowest rate.
      const forged = concat(live, element(0x1f43b675, element(0xe7, u32be(1000))));
      expect(billableSeconds(inspect(forged))).toBeCloseTo(forged.byteLength / LOWEST, 9);
      expect(billableSeconds(inspect(forged))).toBeGreaterThan(150);
    }
  });
});

describe("hostile and broken input", () => {
  const samples: Record<string, Uint8Array> = {
    wav: wav({ seconds: 0.5 }),
    opus: oggOpus(3, 12),
    vorbis: oggVorbis(3, 8000),
    mp3: mp3Cbr(20),
    xing: mp3Xing(100, 5),
    flac: flac(16_000, 16_000, 500),
    mp4: mp4({
      mvhd: timedBox("mvhd", 1000, 3000n),
      mdhd: timedBox("mdhd", 1, 3n),
      audioBytes: 500,
    }),
    webm: webm({ seconds: 2, duration: float64(3000), kbps: 6 }),
    live: webm({ seconds: 2, sizes: "unknown", kbps: 6 }),
  };

  it("never throws on any truncation of any container", () => {
    for (const [name, file] of Object.entries(samples)) {
      for (let length = 0; length <= file.byteLength; length += length < 200 ? 1 : 37) {
        expect(() => inspect(file.subarray(0, length)), `${name} cut to ${length}`).not.toThrow();
      }
    }
  });

  it("never throws on corrupted bytes in any container", () => {
    const next = random(0xa0d10);
    for (const [name, file] of Object.entries(samples)) {
      for (let round = 0; round < 300; round++) {
        const copy = file.slice();
        for (let n = 1 + Math.floor(next() * 4); n > 0; n--) {
          const at = Math.floor(next() * Math.min(copy.length, next() < 0.8 ? 120 : copy.length));
          copy[at] = next() < 0.3 ? 0xff : next() < 0.5 ? 0 : Math.floor(next() * 256);
        }
        expect(() => inspect(copy), `${name} round ${round}`).not.toThrow();
      }
    }
  });

  it("never throws, and keeps floor ≤ billable ≤ ceiling, for random bytes behind each magic", () => {
    const next = random(42);
    const magics = [
      "",
      "RIFF\0\0\0\0WAVE",
      "OggS",
      "fLaC",
      "\0\0\0\0ftyp",
      "\x1a\x45\xdf\xa3",
      "ID3",
      "\xff\xfb",
    ];
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(next() * (next() < 0.9 ? 200 : 5000));
      const noise = Uint8Array.from({ length }, () => Math.floor(next() * 256));
      const magic = ascii(magics[round % magics.length] ?? "");
      expect(() => inspect(concat(magic, noise))).not.toThrow();
    }
  });

  it("survives sizes of 0, all ones and 64-bit, granules of -1, NaN and infinite durations", () => {
    const cases = [
      concat(ascii("RIFF"), u32le(0), ascii("WAVE"), chunk("fmt ", zeros(16), 0xffffffff)),
      wav({ seconds: 1, rate: 0 }),
      concat(
        ascii("RIFF"),
        u32le(0),
        ascii("WAVE"),
        ...Array.from({ length: 1000 }, () => chunk("junk", zeros(0))),
      ),
      oggPage({ granule: 0xffffffffffffffffn, packets: [opusHead(0)] }),
      concat(oggOpus(1, 6), oggPage({ granule: 0x7fffffffffffffffn, packets: [zeros(1)] })),
      oggVorbis(0, 0),
      flac(0, 1000, 10),
      mp4({ mvhd: timedBox("mvhd", 0, 1000n), audioBytes: 10 }),
      mp4({ mvhd: timedBox("mvhd", 1, 0xffffffffffffffffn, 1), audioBytes: 10 }),
      concat(u32be(1), ascii("ftyp"), u64be(0xffffffffffffffffn), zeros(8)),
      concat(u32be(8), ascii("ftyp"), u32be(0), ascii("moov"), u32be(3), ascii("mvhd")),
      webm({ seconds: 1, duration: float64(Number.NaN) }),
      webm({ seconds: 1, duration: float64(Number.POSITIVE_INFINITY) }),
      webm({ seconds: 1, duration: float64(-5) }),
      webm({ seconds: 1, duration: float64(1), scale: 0xffffffff }),
      concat(
        ascii("\x1a\x45\xdf\xa3"),
        new Uint8Array([0x80]),
        new Uint8Array([0x18, 0x53, 0x80, 0x67, 0x00]),
      ),
    ];
    for (const file of cases) {
      const inspection = inspect(file);
      if (inspection.declaredSeconds !== undefined)
        expect(Number.isFinite(inspection.declaredSeconds)).toBe(true);
    }
    expect(inspect(wav({ seconds: 1, rate: 0 })).declaredSeconds).toBeUndefined();
    expect(
      inspect(webm({ seconds: 1, duration: float64(Number.NaN) })).declaredSeconds,
    ).toBeUndefined();
  });

  it("gives up on a walk of more than 10,000 chunks, and on 64-bit box sizes below a header", () => {
    const wavAfter = (junk: number) => {
      const file = wav({ seconds: 1 });
      const chunks = Array.from({ length: junk }, () => chunk("junk", zeros(0)));
      return concat(file.subarray(0, 12), ...chunks, file.subarray(12));
    };
    expect(inspect(wavAfter(100)).declaredSeconds).toBe(1);
    expect(inspect(wavAfter(10_000)).declaredSeconds).toBeUndefined();
    const zeroLarge = concat(box("ftyp", zeros(4)), u32be(1), ascii("free"), u64be(0n), zeros(64));
    expect(inspect(zeroLarge).declaredSeconds).toBeUndefined();
  });

  it("walks files of nothing but tiny chunks, boxes, elements or page patterns in bounded steps", () => {
    const megabytes = 8;
    const riff = concat(ascii("RIFF"), u32le(0), ascii("WAVE"), zeros(megabytes << 20));
    const boxes = concat(
      box("ftyp", zeros(4)),
      zeros(megabytes << 20).map((_, i) => (i % 8 === 3 ? 8 : 0)),
    );
    const voids = new Uint8Array(megabytes << 20).map((_, i) => (i % 2 === 0 ? 0xec : 0x80));
    const ebml = concat(element(0x1a45dfa3, zeros(0)), element(0x18538067, voids));
    const ogg = concat(oggOpus(1, 6), zeros(megabytes << 20));
    const patterns = concat(oggOpus(1, 6), ascii("OggS".repeat(megabytes << 18)));
    // Work is counted in reads, not timed: every read of a header goes through DataView or
    // subarray, and a walk that followed each of 8 MB of tiny items would make millions.
    const reads = (["getUint8", "getUint16", "getUint32"] as const).map((name) =>
      vi.spyOn(DataView.prototype, name),
    );
    const slices = vi.spyOn(Uint8Array.prototype, "subarray");
    try {
      for (const file of [riff, boxes, ebml, ogg, patterns]) {
        for (const spy of [...reads, slices]) spy.mockClear();
        inspect(file);
        const made = [...reads, slices].reduce((sum, spy) => sum + spy.mock.calls.length, 0);
        expect(made).toBeLessThan(500_000);
      }
    } finally {
      for (const spy of [...reads, slices]) spy.mockRestore();
    }
    // Work is counted, not timed; building 40 MB of samples alone can pass the unit project's
    // 15 s on a loaded machine (it took 22 s with eight builds running beside it).
  }, 60_000);
});

describe("billing", () => {
  it("bills the floor for unknown bytes, and holds for the lowest rate of all", () => {
    const unknown = zeros(32_000);
    const inspection = inspect(unknown);
    expect(inspection).toEqual({
      container: "unknown",
      floorSeconds: 32_000 / HIGHEST,
      ceilingSeconds: 32_000 / LOWEST,
    });
    expect(Math.ceil(inspection.ceilingSeconds)).toBe(43);
  });

  it("bills a played length never below the floor, and any other what the hold assumed", () => {
    const base = { container: "wav" as const, floorSeconds: 5, ceilingSeconds: 50, played: true };
    expect(billableSeconds(base)).toBe(5);
    expect(billableSeconds({ ...base, declaredSeconds: 2 })).toBe(5);
    expect(billableSeconds({ ...base, declaredSeconds: 20 })).toBe(20);
    expect(billableSeconds({ ...base, declaredSeconds: Number.NaN })).toBe(5);
    const stated = { container: "ogg" as const, floorSeconds: 5, ceilingSeconds: 50 };
    expect(billableSeconds({ ...stated, declaredSeconds: 2 })).toBe(50);
    expect(billableSeconds({ ...stated, declaredSeconds: 20 })).toBe(50);
  });

  it("empty input bills nothing", () => {
    expect(inspect(zeros(0))).toEqual({ container: "unknown", floorSeconds: 0, ceilingSeconds: 0 });
  });
});
