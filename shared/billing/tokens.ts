/**
 * Token counts by the real tokenizer of a model's family (OpenAI's tiktoken ranks, as
 * gpt-tokenizer ships them, counted by byte-pair.ts), for the calls sluice must estimate: an
 * upstream that reports no usage, or a call that ended before its usage came. The tokenizer is
 * loaded lazily, the first time a process needs it: a call whose upstream reports usage never
 * loads it (its ranks are megabytes of data; `npm run bench` measures what loading and counting
 * cost).
 *
 * Holds do not count tokens: they use the prompt BOUND (prompt-bound.ts), which must stay an
 * upper bound; these counts are estimates of what was billed.
 */

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { ByteRanks, countBytePairTokens } from "./byte-pair";

export type EncodingName = "o200k_base" | "cl100k_base";

/**
 * cl100k_base models, by tiktoken's model.py: gpt-4 and its -turbo/-32k/dated variants (not
 * gpt-4o, gpt-4.1, gpt-4.5), gpt-3.5-turbo (Azure's gpt-35-turbo), the embedding models,
 * davinci-002 and babbage-002, and their fine-tunes.
 */
const CL100K =
  /^(?:ft:)?(?:gpt-4(?:$|[-:])|gpt-3\.5|gpt-35|text-embedding-|davinci-002|babbage-002)/;

/**
 * The encoding of `model`: cl100k_base for the older OpenAI families above; o200k_base for
 * every current one (gpt-4o, gpt-4.1, gpt-4.5, gpt-5.x, the o-series, gpt-image, gpt-audio,
 * the transcribe and TTS models) and, as the documented fallback, for every other family
 * (Claude, Gemini, DeepSeek, Qwen… have tokenizers of their own that sluice does not ship; a
 * modern 200k-vocabulary BPE is the closest stand-in). A provider prefix ("openai/") is
 * ignored.
 */
export function encodingFor(model: string): EncodingName {
  const name = (model.toLowerCase().split("/").pop() ?? "").trim();
  return CL100K.test(name) ? "cl100k_base" : "o200k_base";
}

/** Counts one text's tokens; "" is 0. */
export type TokenCounter = (text: string) => number;

const loaded = new Map<EncodingName, Promise<TokenCounter>>();

/** OpenAI's `.tiktoken` file of an encoding's ranks, as gpt-tokenizer ships it (node_modules). */
export function tiktokenFile(encoding: EncodingName): string {
  return createRequire(import.meta.url).resolve(`gpt-tokenizer/data/${encoding}.tiktoken`);
}

/**
 * An encoding's ranks, found as Node finds gpt-tokenizer's files: beside a function's bundle,
 * the table of them made at synth (`<encoding>.ranks`: infra/side-bundles.ts), read as it is;
 * in node_modules (tests, `npm start`), the `.tiktoken` file, decoded.
 */
async function readRanks(encoding: EncodingName): Promise<ByteRanks> {
  let table: string | undefined;
  try {
    table = createRequire(import.meta.url).resolve(`gpt-tokenizer/data/${encoding}.ranks`);
  } catch {
    // Not made: the package as npm installs it.
  }
  return table
    ? ByteRanks.fromTable(await readFile(table))
    : ByteRanks.fromTiktoken(await readFile(tiktokenFile(encoding)));
}

/**
 * Text that spells a special token ("<|endoftext|>") is counted as the plain text it is: the
 * API never lets a caller's text become a special token (byte-pair.ts knows none).
 */
function load(encoding: EncodingName): Promise<TokenCounter> {
  let counter = loaded.get(encoding);
  if (!counter) {
    counter = Promise.all([
      // The encodings' split patterns, gpt-tokenizer's: a few lines of its code.
      import("gpt-tokenizer/encodingParams/constants"),
      readRanks(encoding),
    ]).then(([patterns, ranks]): TokenCounter => {
      const split =
        encoding === "o200k_base"
          ? patterns.O200K_TOKEN_SPLIT_REGEX
          : patterns.CL100K_TOKEN_SPLIT_REGEX;
      return (text) => (text ? countBytePairTokens(ranks, split, text) : 0);
    });
    // A failed load is tried again by the next call, not remembered.
    counter.catch(() => loaded.delete(encoding));
    loaded.set(encoding, counter);
  }
  return counter;
}

/** The token counter of `model`'s family, loaded on first use. */
export function tokenCounterFor(model: string): Promise<TokenCounter> {
  return load(encodingFor(model));
}

/**
 * How many tokens `text` is for `model` (its family's tokenizer, see encodingFor). Used for
 * delivered text when a stream ends without usage, and by the estimates in estimates/.
 */
export async function countTokens(text: string, model: string): Promise<number> {
  return (await tokenCounterFor(model))(text);
}
