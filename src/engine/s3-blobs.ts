/**
 * Result blobs as objects of an S3-compatible store (`s3://bucket/prefix`), through the official
 * AWS SDK. Endpoint, region and credentials come from the usual AWS settings (AWS_ENDPOINT_URL_S3
 * or AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID…, profiles); a custom endpoint (MinIO,
 * Ceph, s3rver…) gets path-style addressing, which they all understand.
 *
 * S3 has no "touch": a blob already stored is written again when it is older than half the
 * collection's grace period, so its LastModified is renewed before the row that points at it
 * commits (see CollectableBlobStore).
 */
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { ResultStorageError } from "../core/errors.ts";
import { CONTENT_NAME, type CollectableBlobStore } from "../core/result-storage.ts";

/** The SDK, loaded at the first call: importing it takes ~0.6 s, which every flow process would pay. */
type Sdk = typeof import("@aws-sdk/client-s3");
let sdk: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => (sdk ??= import("@aws-sdk/client-s3"));

/** A stored blob younger than this is not written again (ms): well under any grace period of collection. */
export const S3_RENEW_AFTER_MS = 10 * 60_000;

export class S3BlobStore implements CollectableBlobStore {
  readonly description: string;
  private readonly config: S3ClientConfig;
  private client: S3Client | undefined;

  constructor(
    readonly bucket: string,
    readonly prefix: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    this.description = `s3://${bucket}/${prefix}${endpoint ? ` (endpoint ${endpoint})` : ""}`;
    this.config = {
      endpoint,
      forcePathStyle: endpoint !== undefined,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
      // Keys in the environment are taken now (the SDK would read them at each request); without
      // them the SDK's chain (profiles, instance roles…) applies.
      credentials: env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined } : undefined,
      maxAttempts: 3,
      // An unreachable store fails the write within seconds instead of holding the run.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
      // Checksums only where S3 requires them: most S3-compatible servers do not read the
      // trailing checksums the SDK now adds by default. The reader checks the sha256 itself.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
  }

  /** The SDK and this store's client, made at the first call. */
  private async s3(): Promise<{ sdk: Sdk; client: S3Client }> {
    const loaded = await loadSdk();
    this.client ??= new loaded.S3Client(this.config);
    return { sdk: loaded, client: this.client };
  }

  private key(sha256: string): string {
    return `${this.prefix}${sha256}.json`;
  }

  async put(sha256: string, bytes: Buffer): Promise<void> {
    const stored = await this.lastModified(sha256);
    if (stored !== null && stored > Date.now() - S3_RENEW_AFTER_MS) return;
    const { sdk, client } = await this.s3();
    await this.call("writing", () => client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key(sha256), Body: bytes, ContentType: "application/octet-stream" })));
  }

  async get(sha256: string): Promise<Buffer | null> {
    const { sdk, client } = await this.s3();
    try {
      const answer = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.failure("reading", error);
    }
  }

  async listOlderThan(before: number, limit: number): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    const { sdk, client } = await this.s3();
    do {
      const page = await this.call("listing", () => client.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token })));
      for (const object of page.Contents ?? []) {
        const name = object.Key?.slice(this.prefix.length) ?? "";
        if (CONTENT_NAME.test(name) && object.LastModified && object.LastModified.getTime() < before) out.push(name.slice(0, 64));
        if (out.length >= limit) return out;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async deleteOlderThan(sha256s: readonly string[], before: number): Promise<number> {
    let deleted = 0;
    const { sdk, client } = await this.s3();
    for (const sha of sha256s) {
      // Renewed by a writer since it was listed: its row may be about to commit.
      const stored = await this.lastModified(sha);
      if (stored === null || stored >= before) continue;
      await this.call("deleting", () => client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(sha) })));
      deleted += 1;
    }
    return deleted;
  }

  close(): void {
    this.client?.destroy();
  }

  private async lastModified(sha256: string): Promise<number | null> {
    const { sdk, client } = await this.s3();
    try {
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
      return head.LastModified?.getTime() ?? 0;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.failure("reading", error);
    }
  }

  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.failure(doing, error);
    }
  }

  private failure(doing: string, error: unknown): ResultStorageError {
    const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    const detail = e.message || e.code || e.name || String(error);
    return new ResultStorageError(this.description, `${doing} failed: ${detail}`, { cause: error });
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}
