/**
 * How V8 compiles the API function's code, chosen for the function's share of a vCPU.
 *
 * Which compilers: at a small function's share of a vCPU, V8's optimising compiler (TurboFan)
 * makes the tail: it compiles on a helper thread that draws on the same share, a job of
 * 1–1.5 ms of CPU each time another function turns hot — a steady trickle over thousands of
 * calls, since a call runs many functions a few times each — and the call that meets one waits
 * tens of milliseconds at 128 MB. Below OPTIMISING_FROM_MB the function stops at V8's baseline
 * compiler (Sparkplug), which compiles on the main thread in microseconds: a call costs a few
 * per cent more CPU, and its tail loses those waits (measured: README, Performance). From there
 * up, where the helper thread has CPU to spare and calls share an instance (managed instances),
 * TurboFan's faster code wins.
 *
 * When: V8 compiles a function when it is first called, and a cold instance's first call
 * compiles some 290 of sluice's on its way to its first byte — at 128 MB's share a quarter of a
 * second of waiting. Below the same size the function's bundle is compiled whole as it is
 * imported, in the init phase (which Lambda runs faster than the share), for some 12 MB more
 * held by the process (measured: README, Performance).
 */
import { setFlagsFromString } from "node:v8";

export const OPTIMISING_FROM_MB = 512;

/** The function runs on less than OPTIMISING_FROM_MB's share of a vCPU (not outside Lambda). */
function smallShare(env: NodeJS.ProcessEnv): boolean {
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return memory > 0 && memory < OPTIMISING_FROM_MB;
}

/**
 * Whether V8 may optimise the function's code: as the settings say
 * (`SLUICE_OPTIMISING_COMPILER`), else by the function's memory size.
 */
export function optimising(chosen: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return chosen ?? !smallShare(env);
}

/**
 * Caps V8's tiers for this process where it may not optimise (`--max-opt=1`). Called at
 * initialisation, before any call has made code hot.
 */
export function chooseCompilerTiers(
  chosen: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const on = optimising(chosen, env);
  if (!on) setFlagsFromString("--max-opt=1");
  return on;
}

/**
 * Whether the bundle is compiled whole at import: as the settings say
 * (`SLUICE_COMPILE_AT_INIT`), else where the function's share of a vCPU is small.
 */
export function compilesAtInit(chosen: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return chosen ?? smallShare(env);
}

/**
 * Imports a module; `whole`, with every function of it compiled as it is read (`--no-lazy`,
 * the flag a process otherwise never has). Until the flag is lifted, whatever else V8 compiles
 * is compiled whole too — the modules the import loads (Node's built-in ones among them, whose
 * code cache V8 then turns down for the changed flags) — so the module lifts it itself once
 * its script is compiled, before its top-level code loads anything (compiledWhole); if it
 * does not, the import's end does.
 */
export async function importCompiled<T>(url: string, whole: boolean): Promise<T> {
  if (!whole) return (await import(url)) as T;
  setFlagsFromString("--no-lazy");
  try {
    return (await import(url)) as T;
  } finally {
    compiledWhole();
  }
}

/**
 * Lifts importCompiled's flag: the functions V8 compiles from here on are compiled when first
 * called. The API's bundle calls it first thing (functions/api/handler.ts): by then its one
 * script is compiled, and what its initialisation loads (the KMS client on AWS, say) is not
 * compiled whole. Harmless where no import set the flag (the default is lazy).
 */
export function compiledWhole(): void {
  setFlagsFromString("--lazy");
}
