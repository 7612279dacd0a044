import { RemovalPolicy } from "aws-cdk-lib";
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
} from "aws-cdk-lib/aws-dynamodb";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { LOG_TABLE, TABLE } from "../../shared/config/resources";

/**
 * sluice's data: the table (single-table design: every entity under pk/sk) and the usage
 * log's own table, whose stream feeds the usage rollups.
 */
export class Store extends Construct {
  readonly table: Table;
  readonly logTable: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: TABLE.ttlAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Keys, users and balances must survive a deleted or replaced stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Keys only: listings read the items after, and balance writes (holds, settlements)
    // never change an index key, so they never pay for an index write.
    for (const index of [TABLE.gsi1, TABLE.holdsIndex]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.KEYS_ONLY,
      });
    }

    this.logTable = new Table(this, "LogTable", {
      partitionKey: { name: LOG_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: LOG_TABLE.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: LOG_TABLE.ttlAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      stream: StreamViewType[LOG_TABLE.stream],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Item reads and writes on both tables, and queries of the main table's indexes. */
  grantReadWriteData(grantee: IGrantable): void {
    this.table.grantReadWriteData(grantee);
    this.logTable.grantReadWriteData(grantee);
  }
}
