import { createHash, timingSafeEqual } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentials } from "./providers";

/**
 * How Bedrock's runtime authenticates a call, for the Bedrock fixture: AWS Signature Version 4
 * (service `bedrock`), checked by signing the same request again with the AWS SDK's own
 * signer (@smithy/signature-v4) and the credentials the fixture knows; or a Bedrock API key as
 * `Authorization: Bearer` (AWS: "Use an Amazon Bedrock API key"). The failures are AWS's:
 * their exception names, statuses and messages (AWS's own wording for the signature ones;
 * Bedrock's words for a malformed API key as users quote them).
 */

export interface AuthFailure {
  status: number;
  errorType: string;
  message: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** How far a signature's time may be from the server's (AWS allows 5 minutes). */
const SKEW_MS = 5 * 60_000;

export interface SignedRequest {
  method: string;
  /** The path as received, still percent-encoded: SigV4 encodes it once more. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export async function checkBedrockAuth(
  request: SignedRequest,
  accepted: { region: string; credentials: readonly AwsCredentials[]; apiKey: string },
  now = Date.now(),
): Promise<AuthFailure | undefined> {
  const authorization = header(request, "authorization");
  if (authorization === undefined) {
    return {
      status: 403,
      errorType: "MissingAuthenticationTokenException",
      message: "Missing Authentication Token",
    };
  }
  if (authorization.startsWith("Bearer "))
    return checkApiKey(authorization.slice(7), accepted.apiKey);

  const match = AUTHORIZATION.exec(authorization);
  if (!match) {
    return {
      status: 403,
      errorType: "IncompleteSignatureException",
      message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${authorization.split(" ")[0]}`,
    };
  }
  const [, accessKeyId, day, region, service, signedHeaders, signature] =
    match as unknown as string[];
  const credentials = accepted.credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!credentials) return invalidToken();
  if (
    credentials.sessionToken !== undefined &&
    header(request, "x-amz-security-token") !== credentials.sessionToken
  ) {
    return invalidToken();
  }
  const amzDate = header(request, "x-amz-date");
  const signed = (signedHeaders as string).split(";");
  if (
    !amzDate ||
    !/^\d{8}T\d{6}Z$/.test(amzDate) ||
    !signed.includes("x-amz-date") ||
    !signed.includes("host")
  ) {
    return mismatch();
  }
  const time = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs(now - time) > SKEW_MS) {
    return {
      status: 403,
      errorType: "InvalidSignatureException",
      message: `Signature expired: ${amzDate} is now earlier than ${stamp(now - SKEW_MS)} (${stamp(now)} - 5 min.)`,
    };
  }
  if (day !== amzDate.slice(0, 8)) return mismatch();
  if (service !== "bedrock") {
    return {
      status: 403,
      errorType: "InvalidSignatureException",
      message: "Credential should be scoped to correct service: 'bedrock'. ",
    };
  }
  if (region !== accepted.region) {
    return {
      status: 403,
      errorType: "InvalidSignatureException",
      message: `Credential should be scoped to a valid region. `,
    };
  }
  const payloadHash = createHash("sha256").update(request.body).digest("hex");
  const claimedHash = header(request, "x-amz-content-sha256");
  if (claimedHash !== undefined && claimedHash !== payloadHash) return mismatch();

  // Sign the same request again: the signed headers as received, the same time and scope.
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = header(request, name);
    if (value === undefined) return mismatch();
    headers[name] = value;
  }
  const signer = new SignatureV4({
    credentials,
    region,
    service: "bedrock",
    sha256: Sha256,
    applyChecksum: false,
  });
  const again = await signer.sign(
    {
      method: request.method,
      protocol: "http:",
      hostname: (headers.host ?? "").replace(/:\d+$/, ""),
      path: request.path,
      query: Object.fromEntries(
        [...new Set(request.query.keys())].map((key) => [key, request.query.getAll(key)]),
      ),
      headers,
      body: request.body,
    },
    { signingDate: new Date(time), signableHeaders: new Set(signed) },
  );
  const expected = AUTHORIZATION.exec(String(again.headers.authorization));
  if (
    !expected ||
    expected[5] !== signedHeaders ||
    !sameText(expected[6] as string, signature as string)
  ) {
    return mismatch();
  }
  return undefined;
}

function checkApiKey(key: string, accepted: string): AuthFailure | undefined {
  if (!key.startsWith("ABSK")) {
    return {
      status: 403,
      errorType: "AccessDeniedException",
      message: "Invalid API Key format: Must start with pre-defined prefix",
    };
  }
  return sameText(key, accepted) ? undefined : invalidToken();
}

function invalidToken(): AuthFailure {
  return {
    status: 403,
    errorType: "UnrecognizedClientException",
    message: "The security token included in the request is invalid.",
  };
}

function mismatch(): AuthFailure {
  return {
    status: 403,
    errorType: "InvalidSignatureException",
    message:
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
  };
}

function header(request: SignedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, "");
}
