export interface FormFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

/** A parsed multipart/form-data body: text fields and uploaded files, by field name. */
export interface Form {
  fields: Record<string, string>;
  files: Record<string, FormFile>;
}

/** What `requests` records for a form: the files' sizes rather than their bytes. */
export interface RecordedForm {
  fields: Record<string, string>;
  files: Record<string, { filename: string; contentType: string; bytes: number }>;
}

/**
 * Parses multipart/form-data (RFC 7578). Works on bytes throughout, so binary files survive
 * intact. Throws on a body that does not follow the format.
 */
export function parseMultipart(raw: Buffer, contentType: string): Form {
  const boundary = headerParams(contentType).boundary;
  if (!boundary) throw new Error("multipart/form-data without a boundary");
  const form: Form = { fields: {}, files: {} };
  const delimiter = Buffer.from(`--${boundary}`);
  // Every delimiter after the first is preceded by CRLF, which belongs to the delimiter.
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);
  let pos = raw.indexOf(delimiter);
  if (pos < 0) throw new Error("multipart body without its boundary");
  pos += delimiter.length;
  for (;;) {
    if (raw.subarray(pos, pos + 2).toString("latin1") === "--") return form; // close delimiter
    const lineEnd = raw.indexOf("\r\n", pos); // skip transport padding after the delimiter
    if (lineEnd < 0) throw new Error("truncated multipart body");
    const headersStart = lineEnd + 2;
    const blank = raw.indexOf("\r\n\r\n", headersStart - 2);
    if (blank < 0) throw new Error("multipart part without a header end");
    const headers = partHeaders(raw.subarray(headersStart, Math.max(blank, headersStart)));
    const end = raw.indexOf(nextDelimiter, blank + 4);
    if (end < 0) throw new Error("multipart part without a closing boundary");
    const content = raw.subarray(blank + 4, end);
    addPart(form, headers, content);
    pos = end + nextDelimiter.length;
  }
}

function addPart(form: Form, headers: Record<string, string>, content: Buffer): void {
  const disposition = headerParams(headers["content-disposition"] ?? "");
  const name = disposition.name;
  if (name === undefined) return; // not a form field
  if (disposition.filename !== undefined) {
    form.files[name] = {
      filename: disposition.filename,
      contentType: headers["content-type"] ?? "application/octet-stream",
      data: content,
    };
  } else {
    form.fields[name] = content.toString("utf8");
  }
}

/** Part headers by lower-case name. */
function partHeaders(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.toString("utf8").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * The `; key=value` parameters of a header such as Content-Type or Content-Disposition.
 * Quoted values may use backslash escapes, and browsers and undici percent-encode `"`, CR
 * and LF in names and filenames (the WHATWG form encoding), so those are decoded too.
 */
function headerParams(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  const param = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (const match of header.matchAll(param)) {
    const key = (match[1] ?? "").toLowerCase();
    const quoted = match[2]
      ?.replace(/\\(.)/g, "$1")
      .replace(/%(22|0D|0A)/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    params[key] = quoted ?? (match[3] ?? "").trim();
  }
  return params;
}

export function recordedForm(form: Form): RecordedForm {
  const files: RecordedForm["files"] = {};
  for (const [name, { filename, contentType, data }] of Object.entries(form.files)) {
    files[name] = { filename, contentType, bytes: data.length };
  }
  return { fields: form.fields, files };
}
