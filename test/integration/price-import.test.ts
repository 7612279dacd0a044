/**
 * POST /api/pricing/import over HTTP (issue 19): a real new-api ratio export and a real LiteLLM
 * excerpt (test/fixtures/price-exports/, their model names made unique to this file so the
 * shared price list of other test files is left alone) preview as a diff that changes
 * nothing, save under the previewed version, lose a race to a concurrent edit whole (409,
 * nothing half-saved), and bill calls at the imported prices. Bad data: a 400 in one-api's
 * envelope that names the model and the field.
 */

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startUpstreamFixture, type UpstreamFixture } from "../fixtures/upstream";
import { admin, api, createUserWithKey, eventually, type Json, openai, sluice } from "./support";

const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../fixtures/price-exports/${name}`, import.meta.url), "utf8"));

const tag = randomUUID().slice(0, 8);
/** A model of the data under a name of this test's own. */
const own = (model: string) => `${model}-${tag}`;
const group = `import-${tag}`;

/** new-api's options export, every model renamed, its group ratios one group of ours. */
function newApiExport(): Json {
  const data = fixture("newapi-options.json");
  for (const option of data.data as { key: string; value: string }[]) {
    if (option.key === "GroupRatio") option.value = JSON.stringify({ [group]: 0.9 });
    else if (/Ratio$|Price$/.test(option.key) && !option.key.includes("Group")) {
      const map = JSON.parse(option.value) as Record<string, number>;
      option.value = JSON.stringify(
        Object.fromEntries(Object.entries(map).map(([model, n]) => [own(model), n])),
      );
    }
  }
  return data;
}

/** The LiteLLM excerpt, every entry renamed (a size entry's model too). */
function liteLlmExcerpt(): Json {
  return Object.fromEntries(
    Object.entries(fixture("litellm-excerpt.json")).map(([key, entry]) => [own(key), entry]),
  );
}

const importing = (body: Record<string, unknown>, token = sluice.adminToken) =>
  api(token, "POST", "/api/pricing/import", body);

describe("POST /api/pricing/import", () => {
  it("previews a new-api export as a diff and saves nothing; saved under that version, it is the price list", async () => {
    // Pasted as the text new-api's API answered.
    const data = JSON.stringify(newApiExport());
    const before = await admin("GET", "/api/pricing");
    const preview = await importing({ format: "new-api", data, dry_run: true });
    expect(preview.status).toBe(200);
    const diff = preview.body.data;
    expect(diff).toMatchObject({ format: "new-api", dry_run: true, saved: false });
    expect(diff.summary).toMatchObject({ added: 11, changed: 0, skipped: 3 });
    const haiku = diff.models.find((m: Json) => m.model === own("claude-haiku-4-5"));
    expect(haiku.status).toBe("added");
    expect(haiku.changes).toEqual(
      expect.arrayContaining([
        { field: "input", old: null, new: 1 },
        { field: "cached_input", old: null, new: 0.1 },
        { field: "cache_write_1h", old: null, new: 2 },
        { field: "output", old: null, new: 5 },
      ]),
    );
    expect(diff.groups).toEqual([{ group, old: null, new: 0.9 }]);
    expect(diff.skipped.map((s: Json) => s.model).sort()).toEqual(
      ["gpt-4o-audio-preview", "gpt-image-1", "tts-1"].map(own),
    );
    // Nothing changed: no new model, no new group.
    const after = await admin("GET", "/api/pricing");
    expect(after.models[own("claude-haiku-4-5")]).toBeUndefined();
    expect(after.groups[group]).toBeUndefined();
    expect(after.version).toBeGreaterThanOrEqual(before.version);

    // Saved under the previewed version (retried if another test file edits prices between).
    let saved: Json;
    for (let attempt = 0; ; attempt++) {
      const again = await importing({ format: "new-api", data, dry_run: true });
      const answer = await importing({ format: "new-api", data, version: again.body.data.version });
      if (answer.status === 200) {
        saved = answer.body.data;
        break;
      }
      expect(answer.status).toBe(409);
      if (attempt === 5) throw new Error("the price list kept changing");
    }
    expect(saved).toMatchObject({ saved: true, dry_run: false });
    const prices = await admin("GET", "/api/pricing");
    expect(prices.version).toBeGreaterThanOrEqual(saved.version);
    expect(prices.groups[group]).toBe(0.9);
    for (const model of diff.models as Json[]) {
      for (const { field, new: value } of model.changes) {
        const [name, ...rest] = field.split(".");
        if (rest.length === 0) expect(prices.models[model.model][name], field).toEqual(value);
      }
    }
    // Imported again: nothing to change.
    const repeat = await importing({ format: "new-api", data, dry_run: true });
    expect(repeat.body.data.summary).toMatchObject({ added: 0, changed: 0, unchanged: 11 });
  });

  it("imports a chosen few LiteLLM entries, and calls of them bill at the imported prices", async () => {
    const chosen = [
      own("gpt-4o-mini"),
      own("gpt-5.4"),
      own("gpt-image-1"),
      own("amazon.rerank-v1:0"),
    ];
    let answer: Awaited<ReturnType<typeof importing>>;
    for (let attempt = 0; ; attempt++) {
      answer = await importing({ format: "litellm", data: liteLlmExcerpt(), models: chosen });
      if (answer.status !== 409 || attempt === 5) break;
    }
    expect(answer.status).toBe(200);
    const diff = answer.body.data;
    expect(diff.models.map((m: Json) => m.model).sort()).toEqual(chosen.slice(0, 3).sort());
    expect(diff.skipped).toEqual([
      { model: own("amazon.rerank-v1:0"), reason: expect.stringContaining('mode "rerank"') },
    ]);
    const prices = (await admin("GET", "/api/pricing")).models;
    expect(prices[own("gpt-5.4")]).toMatchObject({
      input: 2.5,
      cached_input: 0.25,
      output: 15,
      tiers: [
        { above: 272_000, basis: "whole", rates: { input: 5, cached_input: 0.5, output: 22.5 } },
      ],
      default_max_tokens: 128_000,
    });
    expect(prices[own("gpt-image-1")].image).toEqual({ "1024x1024": { high: 0.167, low: 0.011 } });
    expect(prices[own("claude-sonnet-4-5-20250929")]).toBeUndefined();

    // A call of an imported model, through a channel that serves it.
    const model = own("gpt-4o-mini");
    const upstream: UpstreamFixture = await startUpstreamFixture({ models: [model] });
    try {
      await admin("POST", "/api/channel", {
        name: "import",
        base_url: upstream.baseUrl,
        models: [model],
      });
      const user = await createUserWithKey();
      const completion = await openai(user.secret).chat.completions.create({
        model,
        messages: [{ role: "user", content: "Say this is a test" }],
      });
      const usage = completion.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
      const [line] = await eventually(
        async () =>
          (await api(user.accessToken, "GET", `/api/log/self?model=${model}`)).body.data as Json[],
        (lines) => lines.length > 0,
      );
      // $0.15 and $0.60 per 1M, in units of $0.000002, rounded up once.
      const micro = usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.6;
      expect(line.quota).toBe(Math.ceil(Math.round(micro * 1e6) / 2e6));
    } finally {
      await upstream.close();
    }
  });

  describe("a race", () => {
    const racers = 5;
    /** Each racer imports models of its own, so a half-saved import would show. */
    const data = (racer: number) =>
      Object.fromEntries(
        ["a", "b", "c"].map((m) => [
          `race-${tag}-${racer}-${m}`,
          { mode: "chat", input_cost_per_token: (racer + 1) * 1e-6, output_cost_per_token: 2e-6 },
        ]),
      );

    it("saves one of many imports under the same version, whole, and refuses the rest with 409", async () => {
      let winners: number[] = [];
      for (let attempt = 0; attempt < 5 && winners.length === 0; attempt++) {
        const { version } = await admin("GET", "/api/pricing");
        const answers = await Promise.all(
          Array.from({ length: racers }, (_, racer) =>
            importing({ format: "litellm", data: data(racer), version }),
          ),
        );
        for (const answer of answers) expect([200, 409]).toContain(answer.status);
        winners = answers.flatMap((answer, racer) => (answer.status === 200 ? [racer] : []));
        // Never two: the save is one write, conditional on the version.
        expect(winners.length).toBeLessThanOrEqual(1);
        const lost = answers.find((answer) => answer.status === 409);
        if (lost) {
          expect(lost.body).toEqual({
            success: false,
            message: "The price list changed since you read it; preview the import again.",
            code: "price_list_changed_preview",
          });
        }
      }
      expect(winners.length).toBe(1);
      const prices = (await admin("GET", "/api/pricing")).models;
      for (let racer = 0; racer < racers; racer++) {
        for (const model of Object.keys(data(racer))) {
          if (racer === winners[0]) expect(prices[model]?.input).toBe(racer + 1);
          else expect(prices[model], model).toBeUndefined();
        }
      }
    });
  });

  it("saved on its preview's basis: imports of different models at once all land beside other admins' edits, and one whose model was changed since its preview is refused", async () => {
    const racers = 8;
    const own = (racer: number) => ({
      [`basis-${tag}-${racer}`]: {
        mode: "chat",
        input_cost_per_token: (racer + 1) * 1e-6,
        output_cost_per_token: 2e-6,
      },
    });
    const previews = await Promise.all(
      Array.from({ length: racers }, (_, racer) =>
        importing({ format: "litellm", data: own(racer), dry_run: true }),
      ),
    );
    // Another admin prices a model of their own meanwhile, and each import lands anyway.
    await admin("PATCH", "/api/pricing", {
      models: { [`basis-${tag}-other`]: { input: 1, output: 1 } },
    });
    const saved = await Promise.all(
      previews.map((preview, racer) =>
        importing({ format: "litellm", data: own(racer), basis: preview.body.data.basis }),
      ),
    );
    expect(saved.map((answer) => answer.status)).toEqual(previews.map(() => 200));
    const prices = (await admin("GET", "/api/pricing")).models;
    for (let racer = 0; racer < racers; racer++)
      expect(prices[`basis-${tag}-${racer}`]?.input).toBe(racer + 1);
    expect(prices[`basis-${tag}-other`]).toEqual({ input: 1, output: 1 });

    // A price the import changes, changed since its preview: refused whole, the change kept.
    const model = `basis-${tag}-0`;
    const renamed = { [model]: own(5)[`basis-${tag}-5`] };
    const preview = await importing({ format: "litellm", data: renamed, dry_run: true });
    await admin("PATCH", "/api/pricing", { models: { [model]: { input: 42, output: 42 } } });
    const refused = await importing({
      format: "litellm",
      data: renamed,
      basis: preview.body.data.basis,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/changed since its preview/);
    expect((await admin("GET", "/api/pricing")).models[model]).toEqual({ input: 42, output: 42 });
    await admin("PATCH", "/api/pricing", {
      models: Object.fromEntries(
        [
          ...Array.from({ length: racers }, (_, r) => `basis-${tag}-${r}`),
          `basis-${tag}-other`,
        ].map((m) => [m, null]),
      ),
    });
  });

  it("refuses bad data with a 400 that names the model and the field, and non-admins", async () => {
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [{ format: "one-api", data: {} }, "format must be one of: new-api, litellm."],
      [{ format: "litellm" }, /^data is required/],
      [{ format: "litellm", data: "{not json" }, /^data is not JSON/],
      [
        {
          format: "litellm",
          data: { [own("x")]: { mode: "chat", output_cost_per_token: "free" } },
        },
        `LiteLLM entry "${own("x")}": output_cost_per_token must be a number, 0 or more (it is "free").`,
      ],
      [
        { format: "new-api", data: { ModelRatio: { [own("y")]: -1 } } },
        `new-api ModelRatio["${own("y")}"] must be a number, 0 or more (it is -1).`,
      ],
      [
        { format: "new-api", data: [{ key: "ModelRatio", value: "{oops" }] },
        /^new-api option ModelRatio is not JSON/,
      ],
      [
        { format: "litellm", data: liteLlmExcerpt(), models: [own("gpt-4o-mini"), "gpt-9"] },
        "models names gpt-9, which the litellm data does not have.",
      ],
      [{ format: "litellm", data: {}, dryrun: true }, /The import has unknown field: dryrun/],
    ];
    const answers = await Promise.all(cases.map(([body]) => importing(body)));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status, JSON.stringify(cases[i]?.[0])).toBe(400);
      expect(answer.body.success).toBe(false);
      const expected = cases[i]?.[1];
      if (typeof expected === "string") expect(answer.body.message).toBe(expected);
      else expect(answer.body.message).toMatch(expected as RegExp);
    }
    const user = await createUserWithKey();
    const refused = await importing(
      { format: "litellm", data: liteLlmExcerpt(), dry_run: true },
      user.accessToken,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.success).toBe(false);
  });

  it("refuses an import the price list cannot hold, saving nothing", async () => {
    const huge = Object.fromEntries(
      Array.from({ length: 4_000 }, (_, i) => [
        `huge-${tag}-${i}`,
        { mode: "chat", input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 },
      ]),
    );
    for (const dryRun of [true, false]) {
      const answer = await importing({ format: "litellm", data: huge, dry_run: dryRun });
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(
        /^The price list would take \d+ KB, more than the 350 KB/,
      );
    }
    expect((await admin("GET", "/api/pricing")).models[`huge-${tag}-0`]).toBeUndefined();
  });
});
