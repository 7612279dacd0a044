import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** A mail as the mailbox received and parsed it. */
export interface ReceivedMail {
  from: string;
  /** Every recipient the SMTP envelope named (RCPT TO), lower case. */
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** The X-Sluice-* headers sluice sets (its mail's kind). */
  tags: Record<string, string>;
  receivedAt: string;
}

export interface Mailbox {
  /** Where the SMTP server listens: what SLUICE_SMTP_HOST and SLUICE_SMTP_PORT point at. */
  smtp: { host: string; port: number };
  /** `GET <url>/mail?to=<address>`: the mails that address received, oldest first (JSON). */
  url: string;
  /** The mails `to` received, in this process. */
  received(to: string): ReceivedMail[];
  stop(): Promise<void>;
}

/** The most mails kept: a long `npm start` forgets the oldest. */
const KEPT = 2_000;

/**
 * The local stack's mail server: a real SMTP server (the `smtp-server` package) on the
 * loopback, which parses each mail it is given (`mailparser`) and keeps it, and a small HTTP
 * server that lists a recipient's mails. sluice sends to it through its SMTP transport, as it
 * would to any provider's; tests read what a fresh address received, and `npm start` prints
 * where to read the codes and links a local sign-up gets.
 */
export async function startMailbox(): Promise<Mailbox> {
  const mails: ReceivedMail[] = [];
  const smtp = new SMTPServer({
    // Loopback only, no TLS, no sign-in: a stand-in for a provider, not a relay.
    secure: false,
    disabledCommands: ["STARTTLS", "AUTH"],
    authOptional: true,
    // Its clients are on the loopback: no reverse DNS lookup, which where no resolver answers
    // holds each connection's greeting for smtp-server's 1.5 s limit.
    disableReverseLookup: true,
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, done) {
      simpleParser(stream)
        .then((parsed) => {
          const tags: Record<string, string> = {};
          for (const [name, value] of parsed.headers) {
            if (name.startsWith("x-sluice-")) tags[name.slice(9)] = String(value);
          }
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : "",
            tags,
            receivedAt: new Date().toISOString(),
          });
          if (mails.length > KEPT) mails.splice(0, mails.length - KEPT);
          done();
        })
        .catch((err: Error) => done(err));
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once("error", reject);
    smtp.listen(0, "127.0.0.1", () => resolve());
  });
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const received = (to: string) => mails.filter((m) => m.to.includes(to.toLowerCase()));
  const http = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://mailbox");
    const to = url.searchParams.get("to");
    if (req.method !== "GET" || url.pathname !== "/mail" || !to) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "GET /mail?to=<address>" }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(received(to)));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const httpPort = (http.address() as AddressInfo).port;

  return {
    smtp: { host: "127.0.0.1", port: smtpPort },
    url: `http://127.0.0.1:${httpPort}`,
    received,
    async stop() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
