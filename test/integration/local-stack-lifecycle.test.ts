import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

/**
 * `npm start` as a user runs it, started and stopped every way it can be, in a folder of its
 * own (so that its .sluice/ is not the developer's) with DynamoDB's data in `data/`. Every
 * process it started is found by that folder: its working directory, or (DynamoDB Local's
 * JVM) its -dbPath.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sandboxes: string[] = [];

afterEach(() => {
  for (const dir of sandboxes.splice(0)) {
    for (const pid of processesOf(dir)) kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A folder that looks like the project to npm and node, and keeps the stack's files apart. */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-lifecycle-"));
  sandboxes.push(dir);
  for (const name of ["package.json", "tsconfig.json", "node_modules", "infra", "console"]) {
    symlinkSync(join(ROOT, name), join(dir, name));
  }
  mkdirSync(join(dir, "data"));
  return dir;
}

/** The environment of a shell with no sluice settings, plus `env`. */
function shellEnv(dir: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith("SLUICE_"));
  return { ...Object.fromEntries(inherited), SLUICE_DATA_DIR: join(dir, "data"), ...env };
}

/** Runs `npm start` in `dir`, in a process group of its own (as a terminal would). */
function npmStart(dir: string, env: Record<string, string> = {}): ChildProcess {
  return spawn("npm", ["start"], {
    cwd: dir,
    env: shellEnv(dir, { PORT: "0", ...env }),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Waits for the banner and answers the URL it serves on. */
async function started(child: ChildProcess, dir: string): Promise<string> {
  const errors: string[] = [];
  child.stderr?.on("data", (d: Buffer) => errors.push(d.toString()));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let up = false;
  const exited = once(child, "exit").then(([code]) => {
    if (!up) throw new Error(`npm start exited (${code}) before it started:\n${errors.join("")}`);
  });
  const banner = (async () => {
    for await (const line of lines) if (line.includes("stops everything")) return;
  })();
  await Promise.race([banner, exited]);
  up = true;
  const state = JSON.parse(readFileSync(join(dir, ".sluice/local.json"), "utf8"));
  const models = await fetch(`${state.url}/v1/models`, {
    headers: { authorization: `Bearer ${state.demoKey}` },
  });
  expect(models.status).toBe(200);
  return state.url;
}

/** Pids of the processes started in `dir`: working there, or DynamoDB Local with its data there. */
function processesOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (cwd === dir || cmdline.includes(join(dir, "data", "dynamodb"))) pids.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

function javaOf(dir: string): number {
  const java = processesOf(dir).filter((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("java\0"),
  );
  expect(java).toHaveLength(1);
  return java[0] as number;
}

function parentOf(pid: number): number {
  // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after ")".
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Nothing started in `dir` is left, and `url` no longer answers. */
async function expectAllGone(dir: string, url: string): Promise<void> {
  await expect.poll(() => processesOf(dir), { timeout: 30_000, interval: 200 }).toEqual([]);
  await expect(fetch(`${url}/v1/models`)).rejects.toThrow();
}

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0 };
}

/** Runs a start that must fail; answers its exit code and what it printed. */
async function failedStart(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  const output: string[] = [];
  child.stdout?.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => output.push(d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output: output.join("") };
}

describe("npm start, stopped", () => {
  it("by SIGTERM to npm: the gateway, the pollers, DynamoDB Local and fauxqs all stop", async () => {
    const dir = sandbox();
    const npm = npmStart(dir);
    const url = await started(npm, dir);
    javaOf(dir);
    npm.kill("SIGTERM");
    await expectAllGone(dir, url);
  }, 150_000);

  it("by Ctrl-C (SIGINT to the whole process group): everything stops", async () => {
    const dir = sandbox();
    const npm = npmStart(dir);
    const url = await started(npm, dir);
    process.kill(-(npm.pid as number), "SIGINT");
    await expectAllGone(dir, url);
  }, 150_000);

  it("by SIGKILL of the gateway's process, which runs no handler: DynamoDB Local's JVM goes too", async () => {
    const dir = sandbox();
    const npm = npmStart(dir);
    const url = await started(npm, dir);
    const gateway = parentOf(javaOf(dir));
    expect(gateway).not.toBe(npm.pid);
    kill(gateway, "SIGKILL");
    await expectAllGone(dir, url);
  }, 150_000);

  it("by SIGKILL of npm, which forwards nothing: the gateway sees its parent gone and stops", async () => {
    const dir = sandbox();
    const npm = npmStart(dir);
    const url = await started(npm, dir);
    npm.kill("SIGKILL");
    await expectAllGone(dir, url);
  }, 150_000);
});

describe("npm start, failing to start", () => {
  it("on a port in use: says so in a sentence, exits 1 and leaves nothing running", async () => {
    const dir = sandbox();
    const { server, port } = await listening();
    try {
      const { code, output } = await failedStart(npmStart(dir, { PORT: String(port) }));
      expect(code).toBe(1);
      expect(output).toContain(`port ${port} is in use`);
      expect(output).toContain("set PORT=");
      expect(output).not.toMatch(/^\s+at /m);
      expect(processesOf(dir)).toEqual([]);
    } finally {
      server.close();
    }
  }, 150_000);

  it("without Java: says how to install it, exits 1, with no stack trace", async () => {
    const dir = sandbox();
    // A PATH with nothing on it: no java (node is started by its full path).
    const empty = join(dir, "empty-path");
    mkdirSync(empty);
    const child = spawn(process.execPath, ["--import", "tsx", "infra/local/start.ts"], {
      cwd: dir,
      env: shellEnv(dir, { PORT: "0", PATH: empty }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const { code, output } = await failedStart(child);
    expect(code).toBe(1);
    expect(output).toContain("DynamoDB Local needs Java 17 or newer");
    expect(output).toContain("apt-get install openjdk-17-jre-headless");
    expect(output).not.toContain("ENOENT");
    expect(output).not.toMatch(/^\s+at /m);
    expect(processesOf(dir)).toEqual([]);
  }, 150_000);
});
