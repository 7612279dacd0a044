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
 * Azure's v1 API (`/openai/v1/…`, OpenAI's paths, the deployment named by the body's `model`,
 * no api-version): the operation below it, or undefined for any other path. Only the
 * Responses API is served here; the v1 paths of the other operations are not imitated.
 */
export function azureV1Path(path: string): string | undefined {
  return /^\/openai\/v1\/(.+)$/.exec(path)?.[1];
}

/** The operations the fake serves on Azure's v1 API. */
export const AZURE_V1_OPERATIONS = ["responses"];

/**
 * Azure wants `?api-version=` on the deployments paths (without it the resource is "not
 * found"; the v1 API takes none) and the key in an `api-key` header; it does not read
 * `Authorization`.
 */
export function checkAzureAuth(call: Call, apiKey: string | undefined): boolean {
  if (!azureV1Path(call.url.pathname) && !call.url.searchParams.get("api-version")) {
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
