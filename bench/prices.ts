/**
 * AWS list prices used by `npm run bench:cost`, in one place: us-east-1, on-demand, as
 * published on the pages below on 2026-11-29. Change them here when the prices change.
 *
 * - Lambda: https://aws.amazon.com/lambda/pricing/ (Arm duration per GB-second, requests;
 *   Lambda Managed Instances: the EC2 instance's on-demand price plus a 15% management fee,
 *   and the same request charge)
 * - DynamoDB: https://aws.amazon.com/dynamodb/pricing/on-demand/ (write and read request
 *   units, after the November 2024 price cut; storage per GB-month)
 * - CloudWatch Logs: https://aws.amazon.com/cloudwatch/pricing/ (ingestion per GB,
 *   storage per GB-month)
 * - EC2: https://aws.amazon.com/ec2/pricing/on-demand/ (c7g.large: 2 vCPU, 4 GiB)
 * - S3: https://aws.amazon.com/s3/pricing/ (Standard: PUT and GET requests, storage per
 *   GB-month for the first 50 TB)
 */
export const PRICES = {
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  dynamoStorageGbMonth: 0.25,
  s3PutRequest: 0.005 / 1000,
  s3GetRequest: 0.0004 / 1000,
  s3StorageGbMonth: 0.023,
  logsIngestGb: 0.5,
  logsStorageGbMonth: 0.03,
  managedInstance: { type: "c7g.large", vcpus: 2, memoryGiB: 4, hourly: 0.0725 },
  managedInstancesFee: 0.15,
} as const;

/** Lambda gives a full vCPU at 1,769 MB, and CPU in proportion to memory below it. */
export const LAMBDA_MB_PER_VCPU = 1769;
