/**
 * Secrets (passwords, channel keys) are read from stdin rather than argv, where shell history
 * and `ps` would show them: piped in, or typed at a prompt that does not echo them.
 */
import { UsageError } from "./args";
import type { CliIo } from "./command";

/** The secret on stdin: the whole of it piped, or one line typed (not echoed) on a terminal. */
export async function readSecret(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  if (!stdin) throw new UsageError(`${prompt} is read from stdin, and there is none.`);
  const tty = stdin as unknown as {
    isTTY?: boolean;
    setRawMode?: (raw: boolean) => void;
  };
  if (tty.isTTY && tty.setRawMode) return typed(stdin, tty.setRawMode.bind(stdin), io, prompt);
  let text = "";
  for await (const chunk of stdin)
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  // `echo secret |` ends it with a newline that is not part of it.
  const secret = text.replace(/\r?\n$/, "");
  if (!secret) throw new UsageError(`${prompt}: stdin was empty.`);
  return secret;
}

/** One line typed at the terminal in raw mode: nothing echoed, backspace works, ^C stops. */
async function typed(
  stdin: AsyncIterable<string | Uint8Array>,
  setRawMode: (raw: boolean) => void,
  io: CliIo,
  prompt: string,
): Promise<string> {
  io.stderr.write(`${prompt}: `);
  setRawMode(true);
  let secret = "";
  try {
    for await (const chunk of stdin) {
      for (const char of typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8")) {
        if (char === "\r" || char === "\n") return secret;
        if (char === "\u0003") throw new UsageError("Stopped.");
        if (char === "\u007f" || char === "\b") secret = secret.slice(0, -1);
        else secret += char;
      }
    }
    return secret;
  } finally {
    setRawMode(false);
    io.stderr.write("\n");
  }
}
