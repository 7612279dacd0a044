/**
 * The floor for a Node gateway: a bare pass-through proxy, a few lines of node:http piping
 * bytes to the upstream over keep-alive connections, in a process of its own. The share bench
 * runs it bundled, in a cgroup like the API function's, where each request is an invocation.
 */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { gcReports, invocationEnded, invocationReports } from "../lambda-share/invocations";
import { serveMeasurements } from "./ipc";

const upstream = new URL(process.env.UPSTREAM_URL as string);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const server = createServer((req, res) => {
  res.once("close", () => invocationEnded(false));
  const forward = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers: req.headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on("error", () => res.destroy());
  req.pipe(forward);
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  serveMeasurements(
    { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` },
    { ...invocationReports, ...gcReports },
  );
});
