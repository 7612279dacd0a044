import { startFauxqs } from "fauxqs";

export interface Fauxqs {
  endpoint: string;
  stop(): Promise<void>;
}

/** fauxqs, in this process: SQS and S3 on one local endpoint. */
export async function startSqsAndS3(): Promise<Fauxqs> {
  const server = await startFauxqs({ port: 0, logger: false });
  return { endpoint: server.address, stop: () => server.stop() };
}
