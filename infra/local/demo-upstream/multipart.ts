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
 * Parses multipart/form-data (RFC 7578) with the platform's parser (undici's
 * `Request.formData()`), so binary files survive intact. Throws on a body that does not
 * follow the format.
 */
export async function parseMultipart(raw: Buffer, contentType: string): Promise<Form> {
  const parsed = await new Request("http://demo.invalid/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: raw,
  }).formData();
  const form: Form = { fields: {}, files: {} };
  for (const [name, value] of parsed) {
    if (typeof value === "string") form.fields[name] = value;
    else
      form.files[name] = {
        filename: value.name,
        contentType: value.type || "application/octet-stream",
        data: Buffer.from(await value.arrayBuffer()),
      };
  }
  return form;
}

export function recordedForm(form: Form): RecordedForm {
  const files: RecordedForm["files"] = {};
  for (const [name, { filename, contentType, data }] of Object.entries(form.files)) {
    files[name] = { filename, contentType, bytes: data.length };
  }
  return { fields: form.fields, files };
}
