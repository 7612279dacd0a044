/**
 * `Content-Disposition: attachment` for any file name (RFC 6266): `filename*=UTF-8''…` carries
 * the exact name percent-encoded (RFC 8187), and `filename="…"` an ASCII fallback for clients
 * that read only that one, with non-ASCII, quotes, backslashes and control characters
 * replaced by `_`. The header is ASCII whatever the name, so it can never break the response.
 */
export function attachment(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, "_") || "file";
  // A lone surrogate (JSON allows one) cannot be percent-encoded: the round trip makes it U+FFFD.
  const wellFormed = Buffer.from(filename, "utf8").toString("utf8");
  const exact = encodeURIComponent(wellFormed).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${exact}`;
}
