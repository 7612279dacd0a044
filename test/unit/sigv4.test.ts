import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { signV4 } from "../../shared/aws/sigv4";

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const now = new Date("2026-11-22T12:34:56.000Z");

/** The AWS SDK's own signer, for the same request: sluice's must agree with it exactly. */
async function sdkAuthorization(
  url: URL,
  headers: Record<string, string>,
  body: string,
  service: string,
  sessionToken?: string,
) {
  const signer = new SignatureV4({
    credentials: { ...credentials, sessionToken },
    region: "eu-west-1",
    service,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: [...url.searchParams].reduce<Record<string, string[]>>((query, [name, value]) => {
        query[name] = [...(query[name] ?? []), value];
        return query;
      }, {}),
      headers: { ...headers, host: url.host },
      body,
    },
    { signingDate: now },
  );
  return signed.headers.authorization;
}

describe("signV4", () => {
  const cases: [string, string, Record<string, string>, string, string?][] = [
    [
      "a DynamoDB call",
      "https://dynamodb.eu-west-1.amazonaws.com/",
      {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": "DynamoDB_20120810.UpdateItem",
      },
      '{"TableName":"sluice","Key":{"pk":{"S":"USER#1"}}}',
    ],
    [
      "a call with a session token, as on Lambda",
      "https://dynamodb.eu-west-1.amazonaws.com/",
      { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.GetItem" },
      "{}",
      "IQoJb3JpZ2luX2VjEXAMPLE//token==",
    ],
    [
      "a local endpoint with a port, a path and a query",
      "http://127.0.0.1:8000/some path/x?b=2&a=1&a=0&c=%2F",
      { "content-type": "application/json", "x-custom": "  spaced   value  " },
      "",
    ],
  ];
  for (const [label, url, headers, body, token] of cases) {
    it(`signs ${label} exactly as the AWS SDK does`, async () => {
      const signed = signV4(
        { method: "POST", url: new URL(url), headers, body },
        {
          service: "dynamodb",
          region: "eu-west-1",
          credentials: { ...credentials, sessionToken: token },
          now,
        },
      );
      expect(signed.authorization).toBe(
        await sdkAuthorization(new URL(url), headers, body, "dynamodb", token),
      );
      expect(signed["x-amz-date"]).toBe("20261122T123456Z");
      if (token) expect(signed["x-amz-security-token"]).toBe(token);
    });
  }
});

describe("signV4 for Bedrock", () => {
  it("signs an InvokeModel path with an encoded model id, and a byte body, as the AWS SDK does", async () => {
    // `:` and `/` of ids and ARNs are encoded in the URL, and encoded once more when signed.
    for (const id of [
      "anthropic.claude-sonnet-4-5-20250929-v1:0",
      "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/a1b2c3",
    ]) {
      const url = new URL(
        `https://bedrock-runtime.eu-west-1.amazonaws.com/model/${encodeURIComponent(id)}/invoke-with-response-stream`,
      );
      const headers = {
        "content-type": "application/json",
        accept: "application/vnd.amazon.eventstream",
      };
      const body = '{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}';
      const signed = signV4(
        { method: "POST", url, headers, body: new TextEncoder().encode(body) },
        { service: "bedrock", region: "eu-west-1", credentials, now },
      );
      expect(signed.authorization, id).toBe(await sdkAuthorization(url, headers, body, "bedrock"));
    }
  });
});
