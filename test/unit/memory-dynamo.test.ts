import { dynamoTransportContract } from "../fixtures/dynamo-contract";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";

/** The in-memory transport answers as DynamoDB Local does (integration/dynamo-transport.test.ts). */
const memory = new MemoryDynamo();
dynamoTransportContract("in memory", () => ({ transport: memory, tableName: "sluice" }));
