import { readFileSync } from "node:fs";
import { connect } from "node:net";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { startSqsPoller } from "../../infra/local/sqs-poller";
import { sluice } from "./support";

const sqs = new SQSClient({
  endpoint: sluice.awsEndpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});
afterAll(() => sqs.destroy());

describe("the local stack", () => {
  it("writes its URL, admin token, console sign-in and demo key for scripts", () => {
    const state = JSON.parse(readFileSync(sluice.stateFile, "utf8"));
    expect(state).toEqual({
      url: sluice.url,
      adminToken: sluice.adminToken,
      adminUsername: sluice.adminUsername,
      adminPassword: sluice.adminPassword,
      demoKey: sluice.demoKey,
    });
    expect(state.demoKey).toMatch(/^sk-[A-Za-z0-9]{52}$/);
  });

  it("serves the demo key against the default channel", async () => {
    const response = await fetch(`${sluice.url}/v1/models`, {
      headers: { authorization: `Bearer ${sluice.demoKey}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { id: string }[] };
    expect(body.data.map((m) => m.id)).toContain("gpt-4o-mini");
  });

  it("speaks seed 000's tts-az-1 offline, through the demo Azure Speech channel", async () => {
    const response = await fetch(`${sluice.url}/v1/audio/speech`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${sluice.demoKey}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "tts-az-1",
        input: "你好",
        voice: "zh-CN-XiaoxiaoMultilingualNeural",
        response_format: "mp3",
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("audio/mpeg");
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("answers CORS preflights as the function URL's CORS settings do", async () => {
    const response = await fetch(`${sluice.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://chat.example", "access-control-request-method": "POST" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-expose-headers")).toContain("x-request-id");
    // Browsers do not let `*` cover Authorization: the preflight names it.
    expect(response.headers.get("access-control-allow-headers")?.split(/,\s*/)).toContain(
      "authorization",
    );
  });

  it("refuses request bodies over the function URL's 6 MB limit with 413", async () => {
    const response = await fetch(`${sluice.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array(6 * 1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
  });

  it("keeps serving after a client drops an upload halfway", async () => {
    const { hostname, port } = new URL(sluice.url);
    const socket = connect(Number(port), hostname);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      'POST /v1/files HTTP/1.1\r\nhost: local\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"half',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const response = await fetch(`${sluice.url}/v1/models`, {
      headers: { authorization: `Bearer ${sluice.demoKey}` },
    });
    expect(response.status).toBe(200);
  });
});

describe("the local SQS poller", () => {
  it("deletes the messages the worker finished and redelivers the ones it reported failed", async () => {
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `poller-test-${Date.now()}`,
        Attributes: { VisibilityTimeout: "1" },
      }),
    );
    const queueUrl = queue.QueueUrl as string;
    const attempts = new Map<string, number>();
    const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const batchItemFailures = [];
      for (const record of event.Records) {
        const seen = (attempts.get(record.body) ?? 0) + 1;
        attempts.set(record.body, seen);
        expect(record.eventSource).toBe("aws:sqs");
        expect(Number(record.attributes.ApproximateReceiveCount)).toBe(seen);
        // "flaky" fails on its first delivery only.
        if (record.body === "flaky" && seen === 1)
          batchItemFailures.push({ itemIdentifier: record.messageId });
      }
      return { batchItemFailures };
    };
    const poller = startSqsPoller({
      sqs,
      queueUrl,
      queueArn: "arn:aws:sqs:us-east-1:000000000000:poller-test",
      handler,
      functionName: "poller-test",
      batchSize: 10,
      concurrency: 1,
    });
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "steady" }));
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "flaky" }));
      await expect.poll(() => attempts.get("flaky"), { timeout: 10_000, interval: 100 }).toBe(2);
      // Give a wrongly kept message time to come back before checking the queue is empty.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(attempts.get("steady")).toBe(1);
      const left = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      expect(left.Attributes?.ApproximateNumberOfMessages).toBe("0");
      expect(left.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe("0");
    } finally {
      await poller.stop();
    }
  });

  it("moves a message the worker cannot handle to the dead-letter queue after the redrive count", async () => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: sluice.queueUrl,
        MessageBody: JSON.stringify({ type: "no-such-step" }),
      }),
    );
    await expect
      .poll(
        async () => {
          const out = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: sluice.deadLetterQueueUrl, WaitTimeSeconds: 1 }),
          );
          return out.Messages?.map((m) => m.Body) ?? [];
        },
        { timeout: 45_000, interval: 200 },
      )
      .toContain(JSON.stringify({ type: "no-such-step" }));
  }, 50_000);
});
