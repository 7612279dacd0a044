import type { S3Client } from "@aws-sdk/client-s3";

/**
 * Objects in the files bucket: uploaded files, batch outputs, batch working data. The S3
 * client is loaded on first use, so requests that never touch files do not pay for it.
 */
export class Blobs {
  constructor(
    private readonly s3: () => Promise<S3Client>,
    readonly bucket: string,
  ) {}

  async put(
    key: string,
    body: Uint8Array | string,
    contentType = "application/octet-stream",
  ): Promise<void> {
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    await (await this.s3()).send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  /** The whole object, or undefined when there is none. */
  async get(key: string): Promise<Uint8Array | undefined> {
    const body = await this.open(key);
    if (!body) return undefined;
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** The object as a stream of bytes, to pass on without holding it in memory. */
  async open(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const { GetObjectCommand, NoSuchKey } = await import("@aws-sdk/client-s3");
    try {
      const out = await (await this.s3()).send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      return out.Body as AsyncIterable<Uint8Array> | undefined;
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      throw err;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const { DeleteObjectsCommand } = await import("@aws-sdk/client-s3");
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      if (batch.length === 0) continue;
      await (await this.s3()).send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }
}
