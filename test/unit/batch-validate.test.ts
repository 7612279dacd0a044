import { describe, expect, it } from "vitest";
import { validateBatchInput } from "../../shared/batches/validate";

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    custom_id: "a",
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "m", messages: [] },
    ...fields,
  });

describe("validateBatchInput", () => {
  it("accepts good lines, skipping blank ones, and names the model", () => {
    const result = validateBatchInput(
      `${line({ custom_id: "a" })}\n\n${line({ custom_id: "b" })}\n`,
      "/v1/chat/completions",
      10,
    );
    expect(result).toEqual({
      ok: true,
      model: "m",
      lines: [
        { line: 1, customId: "a", body: { model: "m", messages: [] } },
        { line: 3, customId: "b", body: { model: "m", messages: [] } },
      ],
    });
  });

  it("reports every bad line with its code and line number", () => {
    const text = [
      line({ custom_id: "a" }),
      "[1, 2]",
      line({ custom_id: "" }),
      line({ custom_id: "a" }),
      line({ custom_id: "b", method: "GET" }),
      line({ custom_id: "c", url: "/v1/completions" }),
      line({ custom_id: "d", body: "text" }),
      line({ custom_id: "e", body: { messages: [] } }),
      line({ custom_id: "f", body: { model: "other" } }),
      line({ custom_id: "g", body: { model: "m", stream: true } }),
    ].join("\n");
    const result = validateBatchInput(text, "/v1/chat/completions", 100);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => [e.code, e.line, e.param])).toEqual([
      ["invalid_json_line", 2, null],
      ["missing_required_parameter", 3, "custom_id"],
      ["duplicate_custom_id", 4, "custom_id"],
      ["invalid_method", 5, "method"],
      ["url_mismatch", 6, "url"],
      ["missing_required_parameter", 7, "body"],
      ["missing_required_parameter", 8, "body.model"],
      ["model_mismatch", 9, "body.model"],
      ["invalid_request", 10, "body.stream"],
    ]);
  });

  it("refuses an empty file and one over the line limit", () => {
    expect(validateBatchInput("\n\n", "/v1/chat/completions", 10)).toMatchObject({
      ok: false,
      errors: [{ code: "empty_file" }],
    });
    const three = [1, 2, 3].map((i) => line({ custom_id: `c${i}` })).join("\n");
    expect(validateBatchInput(three, "/v1/chat/completions", 2)).toMatchObject({
      ok: false,
      errors: [{ code: "too_many_tasks" }],
    });
  });
  it("refuses an embeddings batch of more than 50,000 inputs across its requests", () => {
    const embeddings = (count: number, input: (i: number) => unknown) =>
      Array.from({ length: count }, (_, i) =>
        JSON.stringify({
          custom_id: `e${i}`,
          method: "POST",
          url: "/v1/embeddings",
          body: { model: "text-embedding-3-small", input: input(i) },
        }),
      ).join("\n");
    const texts = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    expect(
      validateBatchInput(
        embeddings(25, () => texts(2_000)),
        "/v1/embeddings",
        50_000,
      ).ok,
    ).toBe(true);
    expect(
      validateBatchInput(
        embeddings(26, () => texts(2_000)),
        "/v1/embeddings",
        50_000,
      ),
    ).toMatchObject({ ok: false, errors: [{ code: "too_many_tasks" }] });
    // A token array is one input, however long.
    expect(
      validateBatchInput(
        embeddings(2, () => Array(30_000).fill(1)),
        "/v1/embeddings",
        50_000,
      ).ok,
    ).toBe(true);
  });
});

describe("validateBatchInput's memory bound", () => {
  it("fails a file whose lines together hold more than the function's memory can parse, at the line that passes it", () => {
    // Each line of 200,000 numbers (0.4 MB) fits, and two do; three (at 128 MB) do not.
    const numbers = Array(200_000).fill(1);
    const rows = ["a", "b", "c"].map((id) =>
      line({ custom_id: id, body: { model: "m", messages: [], metadata: numbers } }),
    );
    const result = validateBatchInput(rows.join("\n"), "/v1/chat/completions", 10, 128);
    expect(result).toMatchObject({
      ok: false,
      errors: [{ code: "too_many_values", line: 3 }],
    });
    const two = validateBatchInput(rows.slice(0, 2).join("\n"), "/v1/chat/completions", 10, 128);
    expect(two.ok).toBe(true);
    // Off Lambda the bound is the batch worker's memory (512 MB), as on AWS, not the API's.
    expect(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE).toBeUndefined();
    expect(validateBatchInput(rows.join("\n"), "/v1/chat/completions", 10).ok).toBe(true);
  });
});
