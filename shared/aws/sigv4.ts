import { createHmac, hash } from "node:crypto";

/** AWS credentials, as Lambda puts them in the environment. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  url: URL;
  /** Lower-case names. `host` and `x-amz-date` are added. */
  headers: Record<string, string>;
  body: string | Uint8Array;
}

const signingKeys = new Map<string, Buffer>();

/**
 * Signs a request with AWS Signature Version 4 and returns the headers to send (the given
 * ones, plus host, x-amz-date, x-amz-content-sha256, the session token and authorization). The signing key depends
 * only on the day, so it is derived once a day.
 */
export function signV4(
  request: SignableRequest,
  options: { service: string; region: string; credentials: AwsCredentials; now?: Date },
): Record<string, string> {
  const amzDate = amzDateOf(options.now ?? new Date());
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(request.body);
  const headers: Record<string, string> = {
    ...request.headers,
    host: request.url.host,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": payloadHash,
  };
  if (options.credentials.sessionToken)
    headers["x-amz-security-token"] = options.credentials.sessionToken;

  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    request.method,
    canonicalLocation(request.url),
    names
      .map((name) => `${name}:${(headers[name] as string).trim().replace(/\s+/g, " ")}\n`)
      .join(""),
    signedHeaders,
    payloadHash,
  ].join("\n");
  const scope = `${day}/${options.region}/${options.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const signature = createHmac(
    "sha256",
    signingKey(options.credentials.secretAccessKey, day, options.region, options.service),
  )
    .update(stringToSign)
    .digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${options.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const id = `${secret}/${day}/${region}/${service}`;
  let key = signingKeys.get(id);
  if (!key) {
    key = [day, region, service, "aws4_request"].reduce<Buffer>(
      (k, part) => createHmac("sha256", k).update(part).digest(),
      Buffer.from(`AWS4${secret}`),
    );
    if (signingKeys.size > 16) signingKeys.clear();
    signingKeys.set(id, key);
  }
  return key;
}

function sha256(data: string | Uint8Array): string {
  return hash("sha256", data, "hex");
}

let lastDate = { second: Number.NaN, text: "" };

/** `20261206T184500Z`: the same text for every request of a second, made once. */
function amzDateOf(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second !== lastDate.second) {
    lastDate = { second, text: date.toISOString().replace(/[:-]|\.\d{3}/g, "") };
  }
  return lastDate.text;
}

const locations = new Map<string, string>();

/** The canonical path and query of a URL (its two lines), made once per URL. */
function canonicalLocation(url: URL): string {
  let location = locations.get(url.href);
  if (location === undefined) {
    location = `${canonicalPath(url.pathname)}\n${canonicalQuery(url.searchParams)}`;
    if (locations.size > 64) locations.clear();
    locations.set(url.href, location);
  }
  return location;
}

/**
 * The credentials Lambda puts in the environment for the function's role, read at each call
 * (they are the same for the life of the instance, but a test may change them).
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): () => AwsCredentials {
  return () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them for the function's role)",
      );
    }
    return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN };
  };
}

/** RFC 3986 encoding, as SigV4 wants it. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Services other than S3 encode the (already encoded) path once more. */
function canonicalPath(path: string): string {
  return path.split("/").map(encode).join("/");
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .sort()
    .join("&");
}
