import { Duration } from "aws-cdk-lib";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { BlockPublicAccess, Bucket, BucketEncryption } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import {
  ABORT_INCOMPLETE_MULTIPART_DAYS,
  BUCKET_PREFIXES,
  LIFECYCLE_EXPIRATION_DAYS,
  responsesLifecycleDays,
} from "../../shared/config/resources";

/**
 * The private bucket holding uploaded files, batch outputs, batch working data and stored
 * responses' large bodies (kept `responseRetentionDays`, SLUICE_RESPONSE_RETENTION_DAYS).
 */
export class Files extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: { responseRetentionDays: number }) {
    super(scope, id);
    const days = {
      ...LIFECYCLE_EXPIRATION_DAYS,
      responses: responsesLifecycleDays(props.responseRetentionDays),
    };

    const abortIncompleteMultipartUploadAfter = Duration.days(ABORT_INCOMPLETE_MULTIPART_DAYS);
    this.bucket = new Bucket(this, "Bucket", {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      lifecycleRules: [
        // The API enforces the real (hourly) retentions; these rules only sweep up after it.
        ...Object.entries(BUCKET_PREFIXES).map(([name, prefix]) => ({
          id: `expire-${prefix.replace(/\/$/, "")}`,
          prefix,
          expiration: Duration.days(days[name as keyof typeof BUCKET_PREFIXES]),
          abortIncompleteMultipartUploadAfter,
        })),
        // Multipart uploads left behind anywhere else cost storage too.
        { id: "abort-incomplete-multipart", abortIncompleteMultipartUploadAfter },
      ],
    });
  }

  /**
   * Read/write on the objects under sluice's prefixes only, not on every object. Listing stays
   * bucket-wide (s3:ListBucket takes the bucket ARN): without it S3 answers a missing key with
   * 403 instead of 404.
   */
  grantReadWrite(grantee: IGrantable): void {
    for (const prefix of Object.values(BUCKET_PREFIXES)) {
      this.bucket.grantReadWrite(grantee, `${prefix}*`);
    }
  }

  /**
   * Deleting files' objects (uploaded files, batch outputs) and expired uploads' parts,
   * nothing else: the janitor's part.
   */
  grantDeleteFiles(grantee: IGrantable): void {
    for (const prefix of [
      BUCKET_PREFIXES.files,
      BUCKET_PREFIXES.batchOutputs,
      `${BUCKET_PREFIXES.batchWork}uploads/`,
    ]) {
      this.bucket.grantDelete(grantee, `${prefix}*`);
    }
  }
}
