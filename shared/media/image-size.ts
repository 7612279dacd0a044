/**
 * The pixel size of an image from its header: PNG, JPEG, GIF and WebP, the formats OpenAI's
 * vision models take. Only headers are read; nothing is decoded. Used to estimate an image's
 * input tokens when an upstream reports no usage (the size is the caller's word, but so is
 * the image: a forged header costs the caller, who chose neither the upstream nor its usage).
 */

export interface ImageSize {
  width: number;
  height: number;
}

/** The size an image's header states, or undefined when it is none of the four or unreadable. */
export function imageSize(data: Uint8Array): ImageSize | undefined {
  try {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const size = png(data, view) ?? gif(data, view) ?? webp(data, view) ?? jpeg(data, view);
    return size && size.width > 0 && size.height > 0 ? size : undefined;
  } catch {
    // DataView throws past the end: a truncated header.
    return undefined;
  }
}

const ascii = (data: Uint8Array, at: number, length: number) =>
  String.fromCharCode(...data.subarray(at, at + length));

/** PNG: the signature, then IHDR's width and height (big-endian). */
function png(data: Uint8Array, view: DataView): ImageSize | undefined {
  if (view.getUint32(0) !== 0x89504e47 || ascii(data, 12, 4) !== "IHDR") return undefined;
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** GIF87a/GIF89a: the logical screen's width and height (little-endian). */
function gif(data: Uint8Array, view: DataView): ImageSize | undefined {
  if (!ascii(data, 0, 6).startsWith("GIF8")) return undefined;
  return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
}

/** WebP: a RIFF/WEBP file with a VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk. */
function webp(data: Uint8Array, view: DataView): ImageSize | undefined {
  if (ascii(data, 0, 4) !== "RIFF" || ascii(data, 8, 4) !== "WEBP") return undefined;
  switch (ascii(data, 12, 4)) {
    case "VP8 ":
      return {
        width: view.getUint16(26, true) & 0x3fff,
        height: view.getUint16(28, true) & 0x3fff,
      };
    case "VP8L": {
      const bits = view.getUint32(21, true);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    case "VP8X": {
      const uint24 = (at: number) => view.getUint16(at, true) | (view.getUint8(at + 2) << 16);
      return { width: uint24(24) + 1, height: uint24(27) + 1 };
    }
    default:
      return undefined;
  }
}

/** JPEG: segment by segment to the first start-of-frame marker (SOF0–SOF15 but DHT, JPG, DAC). */
function jpeg(data: Uint8Array, view: DataView): ImageSize | undefined {
  if (view.getUint16(0) !== 0xffd8) return undefined;
  let at = 2;
  while (at + 9 < data.byteLength) {
    if (data[at] !== 0xff) return undefined;
    const marker = data[at + 1] as number;
    // Fill bytes before a marker.
    if (marker === 0xff) {
      at++;
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}

/** The bytes of a `data:` URL (base64 or percent-encoded); undefined for any other URL. */
export function dataUrlBytes(url: string): Uint8Array | undefined {
  const match = /^data:([^,]*),/.exec(url);
  if (!match) return undefined;
  const payload = url.slice(match[0].length);
  if (/;base64$/i.test(match[1] ?? "")) return Buffer.from(payload, "base64");
  try {
    return Buffer.from(decodeURIComponent(payload), "latin1");
  } catch {
    return undefined;
  }
}
