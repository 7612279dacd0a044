import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../shared/auth/secrets";
import { clockOf } from "../../shared/clock";
import { Conflict, Forbidden } from "../../shared/errors";
import { checkIn, checkinDate, checkinUnits } from "../../shared/growth/checkin";
import { CHECKIN_DEFAULTS, type CheckinOptions } from "../../shared/growth/options";
import { runJanitor } from "../../shared/janitor/sweep";
import { newUserProfile, type UserProfile } from "../../shared/store/users";
import { type Core, startCore } from "../fixtures/core";

/**
 * The daily check-in on the in-process core (memory DynamoDB): bursts, a process that stops
 * half-way, and the site's midnight. The money is read from the account the ledger writes,
 * and the log lines from the usage log.
 */

const OPTIONS: CheckinOptions = {
  ...CHECKIN_DEFAULTS,
  enabled: true,
  minUnits: 1_000,
  maxUnits: 9_000,
  requires: "any",
};

let core: Core;
/** What time the core's clock says (unix ms); each test sets it. */
let now = Date.parse("2026-12-06T10:00:00Z");

beforeAll(async () => {
  core = await startCore();
  core.services.clock = clockOf(() => now);
});

async function newUser(fields: Partial<UserProfile> = {}): Promise<UserProfile> {
  const profile = newUserProfile({ id: newId("user_", 16), name: `u${newId("", 10)}`, ...fields });
  await core.services.users.create(profile);
  return profile;
}

const bonus = async (userId: string) =>
  (await core.services.accounts.get(userId, true))?.balances.bonus;

async function topUpLines(userId: string) {
  const { entries } = await core.services.usage.list(userId, 100);
  return entries.filter((entry) => entry.type === "topup");
}

describe("daily check-in", () => {
  it("credits one of 50 parallel check-ins, once, with the day's amount; the rest are told so", async () => {
    now = Date.parse("2026-12-06T10:00:00Z");
    const user = await newUser();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => checkIn(core.services, user, OPTIONS, `req_${i}`)),
    );
    const won = results.filter((result) => result.status === "fulfilled");
    expect(won).toHaveLength(1);
    const lost = results.filter((result) => result.status === "rejected");
    for (const result of lost) expect(result.reason).toBeInstanceOf(Conflict);
    const units = checkinUnits(user.id, "2026-12-06", OPTIONS.minUnits, OPTIONS.maxUnits);
    expect((won[0] as PromiseFulfilledResult<{ units: number }>).value).toEqual({
      date: "2026-12-06",
      units,
    });
    expect(await bonus(user.id)).toBe(units);
    const lines = await topUpLines(user.id);
    expect(lines.map((line) => [line.quota, line.reference])).toEqual([
      [units, `checkin:${user.id}:2026-12-06`],
    ]);
    expect(await core.services.checkins.get(user.id, "2026-12-06")).toMatchObject({
      state: "credited",
      units,
    });
    // Nothing is left for the janitor.
    const due = await core.services.schedule.due(Math.floor(now / 1000) + 3600);
    expect(due.filter((work) => work.id.startsWith(user.id))).toEqual([]);
  });

  it("derives the amount from the user and the day: within [min, max], spread, the same on every try", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const units = checkinUnits(`user_${i}`, "2026-12-06", 1_000, 1_010);
      expect(units).toBeGreaterThanOrEqual(1_000);
      expect(units).toBeLessThanOrEqual(1_010);
      expect(checkinUnits(`user_${i}`, "2026-12-06", 1_000, 1_010)).toBe(units);
      seen.add(units);
    }
    expect(seen.size).toBe(11);
    expect(checkinUnits("user_1", "2026-12-06", 500, 500)).toBe(500);
  });

  it("after a stop between the claim and the credit: the janitor credits it once, when it is due", async () => {
    now = Date.parse("2026-12-06T11:00:00Z");
    const user = await newUser();
    // The top-up's write fails (the process stops there): the day is claimed, not credited.
    await expect(
      core.failing("UpdateItem", `USER#${user.id}`, () =>
        checkIn(core.services, user, OPTIONS, "req_stop"),
      ),
    ).rejects.toThrow();
    expect(await core.services.checkins.get(user.id, "2026-12-06")).toMatchObject({
      state: "claimed",
    });
    expect(await bonus(user.id)).toBe(0);
    const seconds = Math.floor(now / 1000);
    // Not yet due (two minutes on, to the next 5-minute mark): another instance may be
    // finishing it.
    expect((await runJanitor(core.services, seconds + 60)).growthFinished).toBeUndefined();
    expect(await bonus(user.id)).toBe(0);
    const report = await runJanitor(core.services, seconds + 300);
    expect(report.growthFinished).toBe(1);
    const units = checkinUnits(user.id, "2026-12-06", OPTIONS.minUnits, OPTIONS.maxUnits);
    expect(await bonus(user.id)).toBe(units);
    expect(await core.services.checkins.get(user.id, "2026-12-06")).toMatchObject({
      state: "credited",
    });
    // Done: the next sweep and the user's retry add nothing.
    expect((await runJanitor(core.services, seconds + 900)).growthFinished).toBeUndefined();
    await expect(checkIn(core.services, user, OPTIONS, "req_again")).rejects.toBeInstanceOf(
      Conflict,
    );
    expect(await bonus(user.id)).toBe(units);
    expect(await topUpLines(user.id)).toHaveLength(1);
  });

  it("a credit the janitor cannot make keeps its entry, and the sweep goes on to the others", async () => {
    now = Date.parse("2026-12-06T14:00:00Z");
    const users = await Promise.all(Array.from({ length: 3 }, () => newUser()));
    for (const user of users)
      await expect(
        core.failing("UpdateItem", `USER#${user.id}`, () =>
          checkIn(core.services, user, OPTIONS, "req_stop"),
        ),
      ).rejects.toThrow();
    const seconds = Math.floor(now / 1000) + 300;
    // The first of them on the agenda fails again in the janitor's hands.
    const ours = (await core.services.schedule.due(seconds)).filter((w) =>
      users.some((u) => w.id.startsWith(`${u.id}/`)),
    );
    const first = users.find((u) => ours[0]?.id.startsWith(`${u.id}/`)) as UserProfile;
    const report = await core.failing("UpdateItem", `USER#${first.id}`, () =>
      runJanitor(core.services, seconds),
    );
    expect(report.workFailed).toBe(1);
    expect(report.growthFinished).toBe(2);
    const unit = (u: UserProfile) =>
      checkinUnits(u.id, "2026-12-06", OPTIONS.minUnits, OPTIONS.maxUnits);
    for (const user of users) expect(await bonus(user.id)).toBe(user === first ? 0 : unit(user));
    // Its entry stayed: the next sweep credits it, once.
    expect((await runJanitor(core.services, seconds + 300)).growthFinished).toBe(1);
    expect(await bonus(first.id)).toBe(unit(first));
  });

  it("after a failed mark: the user's retry and the janitor add nothing, and the janitor marks it", async () => {
    now = Date.parse("2026-12-06T12:00:00Z");
    const user = await newUser();
    // The ledger's write lands; marking the check-in credited fails: the money is in, so the
    // answer says so, and the mark is left to the janitor.
    const units = checkinUnits(user.id, "2026-12-06", OPTIONS.minUnits, OPTIONS.maxUnits);
    expect(
      await core.failing("UpdateItem", `USER#${user.id}#CHECKIN`, () =>
        checkIn(core.services, user, OPTIONS, "req_half"),
      ),
    ).toEqual({ date: "2026-12-06", units });
    expect(await bonus(user.id)).toBe(units);
    expect((await core.services.checkins.get(user.id, "2026-12-06"))?.state).toBe("claimed");
    await expect(checkIn(core.services, user, OPTIONS, "req_retry")).rejects.toBeInstanceOf(
      Conflict,
    );
    await runJanitor(core.services, Math.floor(now / 1000) + 300);
    expect(await bonus(user.id)).toBe(units);
    expect(await core.services.checkins.get(user.id, "2026-12-06")).toMatchObject({
      state: "credited",
    });
  });

  it("a retry of a claimed check-in credits the claimed amount, and the janitor then nothing", async () => {
    now = Date.parse("2026-12-06T13:00:00Z");
    const user = await newUser();
    await expect(
      core.failing("UpdateItem", `USER#${user.id}`, () =>
        checkIn(core.services, user, OPTIONS, "req_stop"),
      ),
    ).rejects.toThrow();
    // The operator widens the range meanwhile: the claim keeps its amount.
    const claimed = (await core.services.checkins.get(user.id, "2026-12-06"))?.units;
    const wider = { ...OPTIONS, minUnits: 50_000, maxUnits: 60_000 };
    expect(await checkIn(core.services, user, wider, "req_retry")).toEqual({
      date: "2026-12-06",
      units: claimed,
    });
    await runJanitor(core.services, Math.floor(now / 1000) + 300);
    expect(await bonus(user.id)).toBe(claimed);
  });

  it("starts a new day at midnight in the site's timezone, not UTC's", async () => {
    const shanghai = { ...OPTIONS, timezone: "Asia/Shanghai" };
    const user = await newUser();
    // 23:59:59 on the 6th in Shanghai (15:59:59 UTC).
    now = Date.parse("2026-12-06T15:59:59Z");
    expect((await checkIn(core.services, user, shanghai, "req_a")).date).toBe("2026-12-06");
    // A second later it is the 7th there (still the 6th in UTC): a new check-in.
    now = Date.parse("2026-12-06T16:00:00Z");
    expect((await checkIn(core.services, user, shanghai, "req_b")).date).toBe("2026-12-07");
    await expect(checkIn(core.services, user, shanghai, "req_c")).rejects.toBeInstanceOf(Conflict);
    expect(await bonus(user.id)).toBe(
      checkinUnits(user.id, "2026-12-06", 1_000, 9_000) +
        checkinUnits(user.id, "2026-12-07", 1_000, 9_000),
    );
    // The same two moments are one day in UTC.
    const utcUser = await newUser();
    now = Date.parse("2026-12-06T15:59:59Z");
    await checkIn(core.services, utcUser, OPTIONS, "req_d");
    now = Date.parse("2026-12-06T16:00:00Z");
    await expect(checkIn(core.services, utcUser, OPTIONS, "req_e")).rejects.toBeInstanceOf(
      Conflict,
    );
    expect(checkinDate(Date.parse("2026-12-06T16:00:00Z"), "America/Los_Angeles")).toBe(
      "2026-12-06",
    );
    expect(checkinDate(Date.parse("2026-12-07T07:59:59Z"), "America/Los_Angeles")).toBe(
      "2026-12-06",
    );
  });

  it("lists a month's check-ins", async () => {
    const user = await newUser();
    for (const day of ["2026-11-30T12:00:00Z", "2026-12-01T12:00:00Z", "2026-12-03T12:00:00Z"]) {
      now = Date.parse(day);
      await checkIn(core.services, user, OPTIONS, `req_${day}`);
    }
    const month = await core.services.checkins.month(user.id, "2026-12");
    expect(month.map((checkin) => [checkin.date, checkin.state])).toEqual([
      ["2026-12-01", "credited"],
      ["2026-12-03", "credited"],
    ]);
  });

  it("is refused when off, and to users the site does not let check in yet", async () => {
    now = Date.parse("2026-12-06T14:00:00Z");
    const user = await newUser();
    await expect(
      checkIn(core.services, user, { ...OPTIONS, enabled: false }, "req_off"),
    ).rejects.toBeInstanceOf(Forbidden);
    const verified = { ...OPTIONS, requires: "verified" as const };
    await expect(checkIn(core.services, user, verified, "req_v")).rejects.toBeInstanceOf(Forbidden);
    await expect(
      checkIn(core.services, user, { ...OPTIONS, requires: "paid" }, "req_p"),
    ).rejects.toBeInstanceOf(Forbidden);
    expect(await core.services.checkins.get(user.id, "2026-12-06")).toBeUndefined();
    // A granted trial counts as verified; a paid order as both.
    const trial = await newUser({ trial: { units: 0, state: "granted" } });
    expect((await checkIn(core.services, trial, verified, "req_t")).date).toBe("2026-12-06");
    const paying = await newUser({ firstPaidAt: 1 });
    expect((await checkIn(core.services, paying, verified, "req_pv")).date).toBe("2026-12-06");
  });
});
