import { badRequest } from "./errors";
import type { GatewayRequest } from "./types";

export interface FilePart {
  filename: string;
  contentType: string;
  data: Uint8Array;
}

/** A parsed multipart/form-data body: text fields (arrays keep their `name[]` form) and files. */
export interface MultipartForm {
  fields: Map<string, string[]>;
  files: Map<string, FilePart>;
}

/** Parses a multipart/form-data request body, or answers 400 saying what is wrong with it. */
export function readMultipart(request: GatewayRequest): MultipartForm {
  const contentType = request.headers["content-type"] ?? "";
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!contentType.toLowerCase().startsWith("multipart/form-data") || !boundary) {
    throw badRequest("This endpoint takes multipart/form-data (a file upload).");
  }
  return parseMultipart(
    Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength),
    (boundary[1] ?? boundary[2] ?? "").trim(),
  );
}

export function parseMultipart(body: Buffer, boundary: string): MultipartForm {
  const form: MultipartForm = { fields: new Map(), files: new Map() };
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  if (start === -1) throw badRequest("The multipart body has no parts.");
  for (;;) {
    start += delimiter.length;
    // "--" after a delimiter ends the body.
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break;
    const headersEnd = body.indexOf("\r\n\r\n", start);
    const next = body.indexOf(delimiter, start);
    if (headersEnd === -1 || next === -1 || headersEnd > next)
      throw badRequest("The multipart body is malformed.");
    const headers = body.subarray(start, headersEnd).toString("utf8");
    // The part's data ends before the CRLF that precedes the next delimiter.
    const data = body.subarray(headersEnd + 4, next - 2);
    addPart(form, headers, data);
    start = next;
  }
  return form;
}

function addPart(form: MultipartForm, headers: string, data: Buffer): void {
  const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers)?.[1] ?? "";
  const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
  if (name === undefined) throw badRequest("A multipart part has no name.");
  const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
  if (filename !== undefined) {
    const contentType =
      /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? "application/octet-stream";
    // A view into the request body, not a copy: a part can be megabytes.
    form.files.set(name, { filename, contentType, data });
    return;
  }
  const values = form.fields.get(name) ?? [];
  values.push(data.toString("utf8"));
  form.fields.set(name, values);
}

/** The last value of a text field. */
export function formField(form: MultipartForm, name: string): string | undefined {
  return form.fields.get(name)?.at(-1);
}
