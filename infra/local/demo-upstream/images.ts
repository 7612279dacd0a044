import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { deflateSync } from "node:zlib";
import { unixNow } from "./common";
import { type Call, jsonBody, sendError, sendJson } from "./http";

interface ImageRequest {
  model: string;
  prompt: string;
  n: number;
  size: string;
  quality: string;
  response_format: string;
}

/**
 * POST /v1/images/generations. Every image is a 1×1 PNG whose colour comes from its id, and
 * the id from the prompt, size and position, so URLs and bytes are deterministic and the
 * image at a URL can be fetched back without the server remembering anything.
 */
export async function imageGenerations(call: Call): Promise<void> {
  const { res } = call;
  const request = jsonBody<ImageRequest>(call);
  if (typeof request.prompt !== "string" || request.prompt === "") {
    return sendError(res, 400, "'prompt' is a required property.", null, "prompt");
  }
  const n = request.n ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 10) {
    return sendError(res, 400, "'n' must be an integer from 1 to 10.", null, "n");
  }
  const format = request.response_format ?? "url";
  if (format !== "url" && format !== "b64_json") {
    return sendError(
      res,
      400,
      "'response_format' must be url or b64_json.",
      null,
      "response_format",
    );
  }
  const size = request.size ?? "1024x1024";
  const model = request.model ?? "dall-e-2";
  const data = Array.from({ length: n }, (_, i) => {
    const id = imageId(`${request.prompt}\n${size}\n${request.quality ?? ""}\n${i}`);
    return {
      ...(format === "url"
        ? { url: `${call.origin}/images/${id}.png` }
        : { b64_json: demoPng(id).toString("base64") }),
      // dall-e-3 rewrites prompts and says how.
      ...(model.startsWith("dall-e-3")
        ? { revised_prompt: `A demo image of: ${request.prompt}` }
        : {}),
    };
  });
  sendJson(res, 200, { created: unixNow(), data });
}

/**
 * GET /images/<id>.png: where generated image URLs point. It stands for OpenAI's blob
 * storage, not its API, so it needs no key, records nothing and takes no fault.
 */
export function serveImage(res: ServerResponse, path: string): boolean {
  const id = /^\/images\/([0-9a-f]{24})\.png$/.exec(path)?.[1];
  if (!id) return false;
  const png = demoPng(id);
  res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
  res.end(png);
  return true;
}

function imageId(seed: string): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, 24);
}

/** A valid 1×1 RGB PNG, coloured by the first six hex digits of `id`. */
export function demoPng(id: string): Buffer {
  const rgb = Buffer.from(id.slice(0, 6), "hex");
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0); // width
  header.writeUInt32BE(1, 4); // height
  header.set([8, 2, 0, 0, 0], 8); // 8 bits per channel, RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    // One scanline: filter type 0, then the pixel.
    pngChunk("IDAT", deflateSync(Buffer.concat([Buffer.from([0]), rgb]))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** CRC-32 as PNG defines it (zlib.crc32 needs Node 20.15). */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
