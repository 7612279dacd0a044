import { type Call, jsonBody, sendJson } from "./http";

/** The operations Azure OpenAI serves under /openai/deployments/{deployment}/. */
export const AZURE_OPERATIONS = [
  "chat/completions",
  "completions",
  "embeddings",
  "images/generations",
  "audio/transcriptions",
  "audio/translations",
  "audio/speech",
];

/** `/openai/deployments/{deployment}/{operation}`, or undefined for any other path. */
export function azurePath(path: string): { deployment: string; operation: string } | undefined {
  const match = /^\/openai\/deployments\/([^/]+)\/(.+)$/.exec(path);
  if (!match?.[1] || !match[2]) return undefined;
  return { deployment: decodeURIComponent(match[1]), operation: match[2] };
}

/** Azure's own error body: `{ error: { code, message } }`, the code a string. */
function sendAzureError(call: Call, status: number, message: string): void {
  sendJson(call.res, status, { error: { code: String(status), message } });
}

export function sendAzureNotFound(call: Call): void {
  sendAzureError(call, 404, "Resource not found");
}

/**
 * Azure wants `?api-version=` (without it the resource is "not found") and the key in an
 * `api-key` header; it does not read `Authorization`.
 */
export function checkAzureAuth(call: Call, apiKey: string | undefined): boolean {
  if (!call.url.searchParams.get("api-version")) {
    sendAzureNotFound(call);
    return false;
  }
  if (apiKey && call.req.headers["api-key"] !== apiKey) {
    sendAzureError(
      call,
      401,
      "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    );
    return false;
  }
  return true;
}

/** Azure names the model by its deployment: the OpenAI handler sees that as `model`. */
export function withDeployment(call: Call, deployment: string): Call {
  if (call.form) {
    return { ...call, form: { ...call.form, fields: { ...call.form.fields, model: deployment } } };
  }
  return { ...call, body: { ...jsonBody(call), model: deployment } };
}
