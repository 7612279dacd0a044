/**
 * A custom tool's input as it streams (rule 1). The chat model writes the call's arguments as
 * JSON, `{"input": "…"}`, in fragments; the client wants the raw input, in
 * `response.custom_tool_call_input.delta` events. This decodes the string value as far as the
 * fragments so far allow, holding back an escape that is not whole yet and a high surrogate
 * whose pair has not come (Codex's JSON parser refuses a lone one).
 */
const OPENING = /^\s*\{\s*"input"\s*:\s*"/;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/** The decoded input that `args` (arguments so far) holds for certain; undefined when they are not `{"input": "…`. */
export function inputSoFar(args: string): string | undefined {
  const opening = OPENING.exec(args);
  if (!opening) return undefined;
  let out = "";
  let i = opening[0].length;
  while (i < args.length) {
    const c = args[i] as string;
    if (c === '"') break;
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const kind = args[i + 1];
    if (kind === undefined) break;
    if (kind === "u") {
      const hex = args.slice(i + 2, i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) break;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 6;
      continue;
    }
    out += ESCAPES[kind] ?? kind;
    i += 2;
  }
  const last = out.charCodeAt(out.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? out.slice(0, -1) : out;
}
