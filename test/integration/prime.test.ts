/**
 * A cold API instance loads what every call reads first in its init phase
 * (functions/api/handler.ts, primeServices): the credential secret, the channels, their
 * health, the protocol gaps and the prices. Its first call then finds them in the caches.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { functionServices } from "../../functions/adapters/services";
import { primeServices, type Services } from "../../shared/services";
import { Table } from "../../shared/store/table";
import { instanceEnv } from "../fixtures/core";
import { capturedLog } from "../fixtures/logs";
import { createFixtureChannel, createUserWithKey, sluice } from "./support";

/** What a call reads before its first byte that no call owns (the same list primeServices has). */
async function firstReads(services: Services, model: string, secret: string) {
  const [candidates] = await Promise.all([
    services.channelDirectory.candidates(model),
    services.channelHealth.pairs(),
    services.protocolGaps.known(),
    services.pricing.get(),
    services.tags.plausible("key", secret),
  ]);
  return candidates;
}

const instances: Services[] = [];
/** An instance caching for a minute, as a deployed one does for ten seconds (tests: never). */
function instance(): Services {
  const env = { SLUICE_CACHE_TTL_MS: "60000" };
  const services = functionServices(instanceEnv(sluice, { env }), { log: capturedLog().log });
  instances.push(services);
  return services;
}

afterEach(() => {
  vi.useRealTimers();
  for (const services of instances.splice(0)) services.table.transport.destroy?.();
});

describe("priming a cold instance", () => {
  it("logs a read that failed, and leaves it to the first call", async () => {
    // Nothing listens there: every read fails at once.
    const { log, lines } = capturedLog();
    const services = functionServices(
      instanceEnv(sluice, {
        dynamoEndpoint: "http://127.0.0.1:9",
        env: { SLUICE_DYNAMODB_TIMEOUT_MS: "200" },
      }),
      { log },
    );
    instances.push(services);
    await primeServices(services, 30_000);
    const failed = lines.filter((line) =>
      line.message?.startsWith("a read at initialisation failed"),
    );
    expect(failed).toHaveLength(5);
    await expect(services.pricing.get()).rejects.toThrow();
  });

  it("leaves nothing shared for the first call to read: an instance not primed reads each", async () => {
    const { model, channelId } = await createFixtureChannel();
    const user = await createUserWithKey();

    const primed = instance();
    await primeServices(primed, 30_000);
    const before = Table.calls;
    const candidates = await firstReads(primed, model, user.secret);
    expect(Table.calls - before).toBe(0);
    expect(candidates.map((c) => c.id)).toContain(channelId);

    // The same reads on a fresh instance that was not primed go to DynamoDB, one per kind.
    const cold = instance();
    const coldBefore = Table.calls;
    await firstReads(cold, model, user.secret);
    expect(Table.calls - coldBefore).toBe(5);
  });

  it("waits at most its time for a DynamoDB that does not answer; the loads go on behind it", async () => {
    // A DynamoDB endpoint that takes connections and never answers.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const services = functionServices(
        instanceEnv(sluice, { dynamoEndpoint: `http://127.0.0.1:${port}` }),
        { log: capturedLog().log },
      );
      instances.push(services);
      let primed = false;
      const priming = primeServices(services, 1_500).then(() => {
        primed = true;
      });
      await vi.advanceTimersByTimeAsync(1_499);
      expect(primed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await priming;
      expect(primed).toBe(true);
      // Still loading: the requests are out, unanswered.
      vi.useRealTimers();
      await vi.waitFor(() => expect(sockets.length).toBeGreaterThan(0), { timeout: 10_000 });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
