/**
 * One command's arguments, read strictly: an option the command does not take, an option
 * without its value or too many arguments is a UsageError naming it and the command's usage.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

/** A mistake in how the CLI was called: one sentence, exit code 2. */
export class UsageError extends Error {}

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/** The options every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean", default: false },
  /** The language refusals are printed in: en or zh (default: from LANG). */
  lang: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies OptionSpecs;

export interface ParsedArgs {
  options: Record<string, string | boolean | undefined>;
  /** The arguments after the command's words. */
  args: string[];
}

/**
 * Reads `argv` for the command named by `words` (already found in it), which takes `options`
 * and at most `maxArgs` arguments; `usage` is its usage line, quoted in every mistake.
 */
export function readArgs(
  argv: string[],
  words: string[],
  command: { usage: string; options: OptionSpecs; maxArgs: number },
): ParsedArgs {
  const name = ["sluice", ...words].join(" ");
  const mistake = (what: string) =>
    new UsageError(`${what} for \`${name}\` (usage: ${command.usage}).`);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { ...GLOBAL_OPTIONS, ...command.options },
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    // Node's messages quote the option ('--name <value>', '--fo'); the sentence names it bare.
    const flag = /'(-[^' ]*)/.exec(message)?.[1] ?? "an option";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw mistake(`Unknown option ${flag}`);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw mistake(
        message.includes("does not take an argument")
          ? `Option ${flag} takes no value`
          : `Option ${flag} needs a value`,
      );
    }
    throw mistake(message.split("\n")[0] ?? "Bad arguments");
  }
  // The command's words are the first positionals; the rest are its arguments.
  const args = parsed.positionals.slice(words.length);
  if (args.length > command.maxArgs)
    throw mistake(`Unexpected argument "${args[command.maxArgs]}"`);
  return { options: parsed.values as ParsedArgs["options"], args };
}

/**
 * The command's words: the first three arguments that are not options or an option's value.
 * `valueOptions` are the names of every option that takes a value, so `--url U users list`
 * finds `users list`.
 */
export function commandWords(argv: string[], valueOptions: Set<string>): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 3; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    if (arg.startsWith("-")) {
      if (!arg.includes("=") && valueOptions.has(arg.replace(/^--?/, ""))) i++;
      continue;
    }
    words.push(arg);
  }
  return words;
}
