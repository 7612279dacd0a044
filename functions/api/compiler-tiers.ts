/**
 * Which of V8's compilers the API function's code runs on. At a small function's share of a
 * vCPU, V8's optimising compiler (TurboFan) makes the tail: it compiles on a helper thread that
 * draws on the same share, a job of 1–1.5 ms of CPU each time another function turns hot — a
 * steady trickle over thousands of calls, since a call runs many functions a few times each —
 * and the call that meets one waits tens of milliseconds at 128 MB. Below OPTIMISING_FROM_MB
 * the function stops at V8's baseline compiler (Sparkplug), which compiles on the main thread
 * in microseconds: a call costs a few per cent more CPU, and its tail loses those waits
 * (measured: README, Performance). From there up, where the helper thread has CPU to spare and
 * calls share an instance (managed instances), TurboFan's faster code wins.
 */
import { setFlagsFromString } from "node:v8";

export const OPTIMISING_FROM_MB = 512;

/**
 * Whether V8 may optimise the function's code: as the settings say
 * (`SLUICE_OPTIMISING_COMPILER`), else by the function's memory size.
 */
export function optimising(chosen: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (chosen !== undefined) return chosen;
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  // Outside Lambda (the local stack, the tests) there is no share to keep to.
  return !(memory > 0) || memory >= OPTIMISING_FROM_MB;
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
