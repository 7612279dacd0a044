/**
 * The API function's entry on Lambda (its handler: `entry.handler`). It imports the function's
 * bundle, index.mjs beside it (functions/api/handler.ts as NodejsFunction bundles it), and
 * hands on its handler — compiled whole where the function's share of a vCPU is small
 * (compiler-tiers.ts): V8 reads a script's functions when the script is compiled, so the flag
 * must be set before the bundle is, from a file of its own.
 */
import type { StreamifyHandler } from "aws-lambda";
import { loadSettings } from "../../shared/config/settings";
import { compilesAtInit, importCompiled } from "./compiler-tiers";

const BUNDLE = new URL("./index.mjs", import.meta.url).href;

const bundle = await importCompiled<{ handler: StreamifyHandler }>(
  BUNDLE,
  compilesAtInit(loadSettings().compileAtInit, process.env),
);
export const handler = bundle.handler;
