import { expect, inject } from "vitest";
import type { ReceivedMail } from "../../infra/local/mailbox";

const { mailboxUrl } = inject("sluice");

/** A recipient no other test writes to. */
export function freshAddress(tag = "user"): string {
  return `${tag}-${Math.random().toString(36).slice(2, 10)}@example.test`;
}

/** What `to` has received in the stack's mailbox so far. */
export async function mailTo(to: string): Promise<ReceivedMail[]> {
  const response = await fetch(`${mailboxUrl}/mail?to=${encodeURIComponent(to)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as ReceivedMail[];
}

/** Waits until `to` has received `count` mails (sent after the answer), and returns them. */
export async function waitForMail(to: string, count = 1): Promise<ReceivedMail[]> {
  let mails: ReceivedMail[] = [];
  await expect
    .poll(async () => {
      mails = await mailTo(to);
      return mails.length;
    })
    .toBeGreaterThanOrEqual(count);
  return mails;
}
