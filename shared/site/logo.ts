import { InvalidRequest } from "../errors";
import { msg } from "../messages/codes";

/** The largest logo accepted: it is also the favicon, and sits in one DynamoDB item. */
export const MAX_LOGO_BYTES = 100 * 1024;

export type LogoType = "image/png" | "image/jpeg" | "image/webp";

/**
 * The logo's type from its first bytes, never from what the uploader says: PNG, JPEG or WebP
 * only. SVG is refused (an SVG opened directly runs its script on sluice's origin), and so is
 * anything else.
 */
export function sniffLogo(bytes: Uint8Array): LogoType {
  if (bytes.length === 0) throw new InvalidRequest(msg("site_logo_empty"));
  if (bytes.length > MAX_LOGO_BYTES)
    throw new InvalidRequest(
      msg("site_logo_too_large", { bytes: bytes.length, max: MAX_LOGO_BYTES }),
    );
  const starts = (offset: number, magic: number[]) =>
    magic.every((byte, i) => bytes[offset + i] === byte);
  if (starts(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts(0, [0xff, 0xd8, 0xff])) return "image/jpeg";
  // RIFF <size> WEBP
  if (starts(0, [0x52, 0x49, 0x46, 0x46]) && starts(8, [0x57, 0x45, 0x42, 0x50]))
    return "image/webp";
  throw new InvalidRequest(msg("site_logo_type"));
}
