/**
 * The benchmark's processes: each tells the parent where it listens once ready, then answers
 * its questions over the IPC channel (bench/perf/ipc.ts).
 */
import { type ChildProcess, fork, spawn } from "node:child_process";

export interface Child {
  info: Record<string, string | number | undefined>;
  ask<T>(question: string, ...args: unknown[]): Promise<T>;
  process: ChildProcess;
}

export interface ChildOptions {
  env: Record<string, string | undefined>;
  /**
   * A built file run by plain node with these flags, its process placed in the cgroup whose
   * `cgroup.procs` this names before node starts (the shell writes its own pid, then execs
   * node). Without it, `file` runs from source through tsx.
   */
  bundle?: { nodeFlags: string[]; cgroupProcs: string };
}

export async function startChild(file: string, options: ChildOptions): Promise<Child> {
  const { env, bundle } = options;
  const child = bundle
    ? spawn(
        "/bin/sh",
        [
          "-c",
          'echo $$ > "$0" && exec "$@"',
          bundle.cgroupProcs,
          // BENCH_NODE=<a node binary>: another Node.js for the bundle's process (Lambda's).
          process.env.BENCH_NODE ?? process.execPath,
          ...bundle.nodeFlags,
          file,
        ],
        // stdout (the function's log lines) goes to a pipe the parent drains, as Lambda's
        // runtime sends it to CloudWatch; not to /dev/null, which would cost nothing.
        { env, stdio: ["ignore", "pipe", "inherit", "ipc"] },
      )
    : fork(file, [], {
        execArgv: ["--import", "tsx"],
        env,
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      });
  child.stdout?.resume();
  let nextId = 0;
  const waiting = new Map<number, (answer: unknown) => void>();
  const info = await new Promise<Child["info"]>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${file} exited with ${code}`)));
    child.on("message", (message: { ready?: Child["info"]; id?: number; answer?: unknown }) => {
      if (message.ready) resolve(message.ready);
      else if (message.id !== undefined) waiting.get(message.id)?.(message.answer);
    });
  });
  return {
    info,
    process: child,
    ask: <T>(question: string, ...args: unknown[]) =>
      new Promise<T>((resolve) => {
        const id = nextId++;
        waiting.set(id, (answer) => resolve(answer as T));
        child.send({ id, ask: question, args });
      }),
  };
}

/** Asks a child to stop, and waits until it has. */
export async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = new Promise((resolve) => child.process.once("exit", resolve));
  child.process.send({ ask: "stop" });
  await exited;
}
