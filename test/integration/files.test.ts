import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import OpenAI, { type APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTable } from "../../infra/local/resources";
import { createAdmin, createKey } from "../../shared/bootstrap";
import { BUCKET_PREFIXES, RESOURCE_ENV } from "../../shared/config/resources";
import { runJanitor } from "../../shared/janitor/sweep";
import { fileKey } from "../../shared/store/file-records";
import { Schedule } from "../../shared/store/schedule";
import { startSluiceInstance } from "../fixtures/core";
import { createUserWithKey, eventually, openai, sluice, sluiceTable } from "./support";

let client: OpenAI;
let other: OpenAI;

beforeAll(async () => {
  client = openai((await createUserWithKey()).secret);
  other = openai((await createUserWithKey()).secret);
});

const jsonl = (lines: number) =>
  Array.from({ length: lines }, (_, i) =>
    JSON.stringify({
      custom_id: `r${i}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "m", messages: [] },
    }),
  ).join("\n");

async function upload(
  name = "requests.jsonl",
  content = jsonl(2),
  purpose: "batch" | "user_data" = "batch",
) {
  return client.files.create({ file: await toFile(Buffer.from(content), name), purpose });
}

const s3 = new S3Client({
  endpoint: sluice.awsEndpoint,
  forcePathStyle: true,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

describe("/v1/files", () => {
  it("stores an upload and answers with the File object; it expires an hour later (seed 000)", async () => {
    const content = jsonl(3);
    const file = await upload("batch.jsonl", content);
    expect(file).toEqual({
      id: expect.stringMatching(/^file-[A-Za-z0-9]{24}$/),
      object: "file",
      bytes: Buffer.byteLength(content),
      created_at: expect.any(Number),
      expires_at: file.created_at + 3_600,
      filename: "batch.jsonl",
      purpose: "batch",
      status: "processed",
      status_details: null,
    });
    expect(await client.files.retrieve(file.id)).toEqual(file);
    const raw = await client.files.content(file.id);
    expect(await raw.text()).toBe(content);
  });

  it("shortens the expiry when expires_after asks, never lengthens it", async () => {
    const form = new FormData();
    form.append("purpose", "user_data");
    form.append("expires_after[anchor]", "created_at");
    form.append("expires_after[seconds]", "2592000");
    form.append("file", new Blob(["x"]), "x.txt");
    const response = await fetch(`${sluice.url}/v1/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${(client as unknown as { apiKey: string }).apiKey}` },
      body: form,
    });
    const file = (await response.json()) as { expires_at: number; created_at: number };
    expect(file.expires_at - file.created_at).toBe(3_600);
  });

  it("lists a user's files newest first, a cursor page at a time, by purpose", async () => {
    const own = openai((await createUserWithKey()).secret);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await own.files.create({
            file: await toFile(Buffer.from(jsonl(1)), `f${i}.jsonl`),
            purpose: "batch",
          })
        ).id,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_050)); // distinct created_at seconds
    }
    await own.files.create({
      file: await toFile(Buffer.from("notes"), "notes.txt"),
      purpose: "user_data",
    });
    const page = await own.files.list({ limit: 2, purpose: "batch" });
    expect(page.data.map((f) => f.id)).toEqual([ids[4], ids[3]]);
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const file of own.files.list({ limit: 2, purpose: "batch" })) all.push(file.id);
    expect(all).toEqual([...ids].reverse());
    const ascending: string[] = [];
    for await (const file of own.files.list({ limit: 3, order: "asc" }))
      ascending.push(file.filename);
    expect(ascending).toEqual([
      "f0.jsonl",
      "f1.jsonl",
      "f2.jsonl",
      "f3.jsonl",
      "f4.jsonl",
      "notes.txt",
    ]);
    const raw = (await (
      await fetch(`${sluice.url}/v1/files?limit=10`, {
        headers: { authorization: `Bearer ${(own as unknown as { apiKey: string }).apiKey}` },
      })
    ).json()) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(["data", "first_id", "has_more", "last_id", "object"]);
    expect(raw).toMatchObject({ object: "list", has_more: false });
  }, 20_000);

  it("deletes a file: gone for the API at once", async () => {
    const file = await upload();
    expect(await client.files.delete(file.id)).toEqual({
      id: file.id,
      object: "file",
      deleted: true,
    });
    const error = await client.files.retrieve(file.id).catch((e: APIError) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ param: "id", message: `404 No such File object: ${file.id}` });
  });

  it("keeps each user's files to themselves", async () => {
    const file = await upload();
    for (const attempt of [
      () => other.files.retrieve(file.id),
      () => other.files.content(file.id),
      () => other.files.delete(file.id),
    ]) {
      const error = await attempt().catch((e: APIError) => e);
      expect((error as APIError).status).toBe(404);
    }
    const theirs: string[] = [];
    for await (const f of other.files.list()) theirs.push(f.id);
    expect(theirs).not.toContain(file.id);
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
  });

  it("refuses what it cannot take: no file, no purpose, a batch file that is not .jsonl, one too large", async () => {
    const fail = (promise: Promise<unknown>) =>
      promise.catch((e: APIError) => e) as Promise<APIError>;
    expect((await fail(client.files.create({ purpose: "batch" } as never))).param).toBe("file");
    expect(
      (
        await fail(
          client.files.create({ file: await toFile(Buffer.from("x"), "a.jsonl") } as never),
        )
      ).param,
    ).toBe("purpose");
    const csv = await fail(upload("batch.csv"));
    expect(csv.status).toBe(400);
    expect(csv.message).toContain("Must be .jsonl");
    // Over 6 MB the function URL itself refuses the request (on AWS too): such files go
    // through /v1/uploads, which holds sluice's own 10 MB limit (below).
    const big = await fail(upload("big.jsonl", "x".repeat(6 * 1024 * 1024 + 1)));
    expect(big.status).toBe(413);
  });

  it("keeps any file name, and serves it back in a header that cannot break the response", async () => {
    for (const name of ["résumé-файл.jsonl", 'a"b\r\n.jsonl']) {
      const file = await upload(name);
      expect(file.filename).toBe(name);
      expect((await client.files.retrieve(file.id)).filename).toBe(name);
      const content = await client.files.content(file.id);
      expect(await content.text()).toBe(jsonl(2));
      const disposition = content.headers.get("content-disposition") ?? "";
      expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
      const exact = /filename\*=UTF-8''(.*)$/.exec(disposition)?.[1] ?? "";
      expect(decodeURIComponent(exact)).toBe(name);
    }
    // The stack is still up: another call is answered.
    expect((await client.files.list()).data.length).toBeGreaterThan(0);
  });

  it("treats an expired file as gone at once, and the janitor deletes its bytes", async () => {
    const file = await upload();
    const past = Math.floor(Date.now() / 1000) - 1;
    await sluiceTable().update(fileKey(file.id), {
      update: "SET expiresAt = :past",
      values: { ":past": past },
    });
    const error = await client.files.content(file.id).catch((e: APIError) => e);
    expect((error as APIError).status).toBe(404);
    // Put the earlier deadline on the janitor's agenda, as a shorter retention would have.
    await sluiceTable().transact([Schedule.entry({ due: past, kind: "file.expire", id: file.id })]);
    await eventually(
      () => sluiceTable().get(fileKey(file.id), true),
      (item) => item === undefined,
    );
    const object = await s3
      .send(
        new GetObjectCommand({
          Bucket: sluice.bucketName,
          Key: `${BUCKET_PREFIXES.files}${file.id}`,
        }),
      )
      .catch((err: Error) => err);
    expect((object as Error).name).toBe("NoSuchKey");
  });
});

describe("a user's stored files", () => {
  const usageKey = (userId: string) => ({ pk: `USER#${userId}`, sk: "FILE_USAGE" });
  const usage = async (userId: string) =>
    sluiceTable().get<{ fileCount: number; fileBytes: number }>(usageKey(userId), true);

  it("are counted, and capped at 1,000 files and 10 GB however many uploads arrive at once", async () => {
    // A zero-balance key stores files too, so the cap is what stops it.
    const owner = await createUserWithKey({ paidUsd: 0 });
    const mine = openai(owner.secret);
    const put = async (name: string) =>
      mine.files.create({ file: await toFile(Buffer.from(jsonl(1)), name), purpose: "batch" });
    const first = await put("first.jsonl");
    const one = Buffer.byteLength(jsonl(1));
    expect(await usage(owner.id)).toMatchObject({ fileCount: 1, fileBytes: one });

    // One file short of the count limit: of five at once, exactly one is stored.
    await sluiceTable().update(usageKey(owner.id), {
      update: "SET fileCount = :n",
      values: { ":n": 999 },
    });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => put(`at-once-${i}.jsonl`)),
    );
    const stored = results.filter((r) => r.status === "fulfilled");
    expect(stored).toHaveLength(1);
    for (const refused of results.filter((r) => r.status === "rejected")) {
      const error = (refused as PromiseRejectedResult).reason as APIError;
      expect(error.status).toBe(403);
      expect(error.code).toBe("storage_limit_exceeded");
    }
    expect(await usage(owner.id)).toMatchObject({ fileCount: 1_000, fileBytes: 2 * one });
    // Nothing of the refused ones stays: only two files are listed.
    expect((await mine.files.list()).data).toHaveLength(2);

    // Deleting counts a file out once, however often it is asked.
    await mine.files.delete(first.id);
    await mine.files.delete(first.id).catch(() => undefined);
    expect(await usage(owner.id)).toMatchObject({ fileCount: 999, fileBytes: one });

    // The byte limit: 10 GB minus what is stored leaves no room for another file.
    await sluiceTable().update(usageKey(owner.id), {
      update: "SET fileCount = :n, fileBytes = :b",
      values: { ":n": 1, ":b": 10 * 1024 ** 3 - one + 1 },
    });
    expect(((await put("full.jsonl").catch((e: APIError) => e)) as APIError).status).toBe(403);
  });

  it("are counted out when the janitor deletes an expired one", async () => {
    const owner = await createUserWithKey({ paidUsd: 0 });
    const file = await openai(owner.secret).files.create({
      file: await toFile(Buffer.from(jsonl(1)), "expiring.jsonl"),
      purpose: "batch",
    });
    expect((await usage(owner.id))?.fileCount).toBe(1);
    const past = Math.floor(Date.now() / 1000) - 1;
    await sluiceTable().update(fileKey(file.id), {
      update: "SET expiresAt = :past",
      values: { ":past": past },
    });
    await sluiceTable().transact([Schedule.entry({ due: past, kind: "file.expire", id: file.id })]);
    const after = await eventually(
      () => usage(owner.id),
      (item) => item?.fileCount === 0,
    );
    expect(after).toMatchObject({ fileCount: 0, fileBytes: 0 });
  });
});

describe("an upload that expires unfinished (a site of its own: the sweep runs its agenda)", () => {
  let instance: Awaited<ReturnType<typeof startSluiceInstance>>;
  let own: OpenAI;
  beforeAll(async () => {
    const tableName = `sluice-uploads-${Math.random().toString(36).slice(2, 8)}`;
    const dynamo = new DynamoDBClient({
      endpoint: sluice.dynamoEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    await createTable(dynamo, tableName);
    dynamo.destroy();
    instance = await startSluiceInstance(sluice, { env: { [RESOURCE_ENV.table]: tableName } });
    const { user } = await createAdmin(instance.services, "uploader");
    const { secret } = await createKey(instance.services, { userId: user.id, name: "uploads" });
    own = new OpenAI({ apiKey: secret, baseURL: `${instance.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => instance?.close());

  it("has its parts deleted by the janitor, once", async () => {
    const created = await own.uploads.create({
      filename: "abandoned.jsonl",
      purpose: "batch",
      bytes: 100,
      mime_type: "application/jsonl",
    });
    for (const piece of ["a".repeat(40), "b".repeat(40)]) {
      await own.uploads.parts.create(created.id, { data: await toFile(Buffer.from(piece), "p") });
    }
    const { services } = instance;
    const parts = await services.uploads.parts(created.id);
    expect(parts).toHaveLength(2);
    for (const part of parts) expect(await services.blobs.get(part.blobKey)).toBeDefined();

    // Not yet expired: the sweep leaves it be.
    expect((await runJanitor(services, created.expires_at - 1)).uploadPartsDeleted).toBe(0);
    // Past its expiry, unfinished: its parts' objects go, and the agenda forgets it.
    expect((await runJanitor(services, created.expires_at + 1)).uploadPartsDeleted).toBe(2);
    for (const part of parts) expect(await services.blobs.get(part.blobKey)).toBeUndefined();
    expect((await runJanitor(services, created.expires_at + 2)).uploadPartsDeleted).toBe(0);
  });

  it("is left alone by the janitor once completed (completion deleted its parts)", async () => {
    const content = Buffer.from("forty bytes of plain text, exactly so...");
    const created = await own.uploads.create({
      filename: "done.txt",
      purpose: "assistants",
      bytes: content.length,
      mime_type: "text/plain",
    });
    const part = await own.uploads.parts.create(created.id, { data: await toFile(content, "p") });
    await own.uploads.complete(created.id, { part_ids: [part.id] });
    expect((await runJanitor(instance.services, created.expires_at + 1)).uploadPartsDeleted).toBe(
      0,
    );
  });
});

describe("/v1/uploads", () => {
  it("puts parts together in the order part_ids gives, checking the size and MD5", async () => {
    const content = Buffer.from(jsonl(30));
    const third = Math.ceil(content.length / 3);
    const parts = [
      content.subarray(0, third),
      content.subarray(third, 2 * third),
      content.subarray(2 * third),
    ];
    const created = await client.uploads.create({
      filename: "big.jsonl",
      purpose: "batch",
      bytes: content.length,
      mime_type: "application/jsonl",
    });
    expect(created).toMatchObject({
      object: "upload",
      status: "pending",
      bytes: content.length,
      file: null,
    });
    // Sent out of order; part_ids says the order.
    const ids: string[] = [];
    for (const index of [2, 0, 1]) {
      const part = await client.uploads.parts.create(created.id, {
        data: await toFile(parts[index] as Buffer, "part"),
      });
      expect(part).toMatchObject({ object: "upload.part", upload_id: created.id });
      ids[index] = part.id;
    }
    const md5 = (await import("node:crypto")).createHash("md5").update(content).digest("hex");
    const done = await client.uploads.complete(created.id, { part_ids: ids, md5 });
    expect(done).toMatchObject({
      status: "completed",
      file: { object: "file", bytes: content.length, purpose: "batch" },
    });
    const raw = await client.files.content(done.file?.id as string);
    expect(Buffer.from(await raw.arrayBuffer()).equals(content)).toBe(true);
  });

  it("takes a file larger than one request allows (6 MB) in parts that fit", async () => {
    // 8 MB: too big for one function URL request, within the 10 MB file limit.
    const row = `${JSON.stringify({ custom_id: "x", pad: "y".repeat(1_000) })}\n`;
    const content = Buffer.from(row.repeat(Math.ceil((8 * 1024 * 1024) / row.length)));
    const created = await client.uploads.create({
      filename: "eight-megabytes.jsonl",
      purpose: "batch",
      bytes: content.length,
      mime_type: "application/jsonl",
      expires_after: { anchor: "created_at", seconds: 3_600 },
    } as Parameters<typeof client.uploads.create>[0]);
    const half = Math.ceil(content.length / 2);
    const ids: string[] = [];
    for (const piece of [content.subarray(0, half), content.subarray(half)]) {
      ids.push(
        (await client.uploads.parts.create(created.id, { data: await toFile(piece, "part") })).id,
      );
    }
    const done = await client.uploads.complete(created.id, { part_ids: ids });
    expect(done.file).toMatchObject({ bytes: content.length, purpose: "batch" });
    expect(done.file?.expires_at).toBe((done.file?.created_at as number) + 3_600);
    const raw = await client.files.content(done.file?.id as string);
    expect(Buffer.from(await raw.arrayBuffer()).equals(content)).toBe(true);
  });

  it("refuses parts beyond the declared size, a wrong MD5, and anything after cancel", async () => {
    const created = await client.uploads.create({
      filename: "a.jsonl",
      purpose: "batch",
      bytes: 10,
      mime_type: "application/jsonl",
    });
    const tooMuch = await client.uploads.parts
      .create(created.id, { data: await toFile(Buffer.alloc(11), "p") })
      .catch((e: APIError) => e);
    expect((tooMuch as APIError).status).toBe(400);
    const part = await client.uploads.parts.create(created.id, {
      data: await toFile(Buffer.alloc(10, 97), "p"),
    });
    const badMd5 = await client.uploads
      .complete(created.id, { part_ids: [part.id], md5: "0".repeat(32) })
      .catch((e: APIError) => e);
    expect((badMd5 as APIError).param).toBe("md5");
    expect((await client.uploads.cancel(created.id)).status).toBe("cancelled");
    const after = await client.uploads.parts
      .create(created.id, { data: await toFile(Buffer.alloc(1), "p") })
      .catch((e: APIError) => e);
    expect((after as APIError).status).toBe(400);
  });

  it("takes parts sent at once only up to the declared size", async () => {
    const bytes = 1024;
    const created = await client.uploads.create({
      filename: "a.jsonl",
      purpose: "batch",
      bytes,
      mime_type: "application/jsonl",
    });
    const results = await Promise.allSettled(
      Array.from({ length: 13 }, async () =>
        client.uploads.parts.create(created.id, {
          data: await toFile(Buffer.alloc(bytes, 97), "p"),
        }),
      ),
    );
    const accepted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(accepted).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected"))
      expect(((r as PromiseRejectedResult).reason as APIError).status).toBe(400);
    // Only the accepted part was kept: one part record, one object in S3.
    const parts = await sluiceTable().queryAll({
      keyCondition: "pk = :pk AND begins_with(sk, :part)",
      values: { ":pk": `UPLOAD#${created.id}`, ":part": "PART#" },
      consistent: true,
    });
    expect(parts).toHaveLength(1);
    const completed = await client.uploads.complete(created.id, {
      part_ids: [accepted[0]?.id ?? ""],
    });
    expect(completed.file?.bytes).toBe(bytes);
    const blob = await s3
      .send(new GetObjectCommand({ Bucket: sluice.bucketName, Key: String(parts[0]?.blobKey) }))
      .catch((err: Error) => err);
    expect((blob as Error).name).toBe("NoSuchKey");
  });

  it("refuses an upload larger than the file limit with 413", async () => {
    const error = await client.uploads
      .create({
        filename: "a.jsonl",
        purpose: "batch",
        bytes: 10 * 1024 * 1024 + 1,
        mime_type: "application/jsonl",
      })
      .catch((e: APIError) => e);
    expect((error as APIError).status).toBe(413);
    expect((error as APIError).message).toMatch(/at most 10485760 bytes \(10 MB\)/);
  });
});
