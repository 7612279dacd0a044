/**
 * What a command is (its usage, options and run) and what it runs with (its arguments, the
 * API and the terminal); the small readers of option values every command shares.
 */
import type { OptionSpecs, ParsedArgs } from "./args";
import { UsageError } from "./args";

/** What the CLI touches of its process, passed in so tests can run it in-process. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** HOME and XDG_CONFIG_HOME say where the stored credentials are; SLUICE_* and LANG. */
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  /** Where `--password-stdin` and friends read from (a TTY is prompted, without echo). */
  stdin?: AsyncIterable<string | Uint8Array> & { isTTY?: boolean };
}

/** The API's data, printed as it comes and read field by field by the commands. */
// biome-ignore lint/suspicious/noExplicitAny: JSON from the API.
export type Data = any;

export interface Context extends ParsedArgs {
  io: CliIo;
  /** Calls the management API; answers the envelope's `data`. */
  call(method: string, path: string, body?: unknown): Promise<Data>;
  /** The same, answering the whole envelope (`data` and e.g. `next_cursor` beside it). */
  request(method: string, path: string, body?: unknown): Promise<Data>;
  /** Every page of a paged listing (`p`, `size`), as one array. */
  listAll(path: string, query?: Record<string, string | undefined>): Promise<Data[]>;
  /** Prints rows as an aligned table, or the data as JSON with --json (or without columns). */
  print(data: unknown, columns?: readonly string[]): void;
  line(text: string): void;
  string(name: string): string | undefined;
  flag(name: string): boolean;
  /**
   * A secret: `--<name>` when given, or `--<name>-stdin` read from stdin (prompted for
   * without echo on a terminal); undefined when neither is.
   */
  secret(name: string): Promise<string | undefined>;
}

export interface Command {
  /** What it does, for `sluice --help`. */
  summary: string;
  usage: string;
  options: OptionSpecs;
  /** How many arguments it takes after its words. */
  maxArgs: number;
  run(ctx: Context): Promise<void>;
}

/** Commands by their words ("users list"). */
export type Commands = Record<string, Command>;

/** The options of a secret: `--name S` and `--name-stdin`. */
export function secretOptions(name: string): OptionSpecs {
  return {
    [name]: { type: "string" },
    [`${name}-stdin`]: { type: "boolean", default: false },
  };
}

export function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed))
    throw new UsageError(`${name} must be a number, got "${value}".`);
  return parsed;
}

export function wholeNumber(value: string | undefined, name: string): number | undefined {
  const parsed = number(value, name);
  if (parsed !== undefined && !Number.isInteger(parsed))
    throw new UsageError(`${name} must be a whole number, got "${value}".`);
  return parsed;
}

export function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/** A date (2027-01-31, or any ISO time) as unix seconds. */
export function unixSeconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name} must be a date, e.g. 2027-01-31.`);
  return Math.floor(ms / 1000);
}

/** The command's first argument, or a UsageError saying what it needs. */
export function needArg(ctx: Context, what: string, command: string): string {
  const value = ctx.args[0];
  if (!value) throw new UsageError(`${command} needs ${what}.`);
  return value;
}

/** An id for a URL path: whatever it holds, it stays one segment. */
export const segment = (id: string) => encodeURIComponent(id);

/**
 * `--rpm`, `--tpm`, `--concurrency` (prefixed: `--key-rpm`) as rate limits, only those
 * given; 0 means no limit.
 */
export function rateLimitOptions(prefix = ""): OptionSpecs {
  return Object.fromEntries(
    ["rpm", "tpm", "concurrency"].map((d) => [`${prefix}${d}`, { type: "string" } as const]),
  );
}

export function rateLimits(ctx: Context, prefix = ""): Record<string, number> | undefined {
  const limits = Object.fromEntries(
    ["rpm", "tpm", "concurrency"].flatMap((dimension) => {
      const value = wholeNumber(ctx.string(`${prefix}${dimension}`), `--${prefix}${dimension}`);
      return value === undefined ? [] : [[dimension, value]];
    }),
  );
  return Object.keys(limits).length > 0 ? limits : undefined;
}
