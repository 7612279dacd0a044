import { describe, expect, it } from "vitest";
import { dollars, dollarsInput, parseDollars, preciseUsd, usd } from "../../console/src/money";

describe("console money", () => {
  it("shows units as exact dollars, at most 6 decimals, zeros trimmed", () => {
    // The seeds' figures: 2171914 units = $4.343828.
    expect(dollars(2171914)).toBe("4.343828");
    expect(dollars(-6319582)).toBe("-12.639164");
    expect(dollars(58134140)).toBe("116.26828");
    expect(dollars(500_000)).toBe("1");
    expect(dollars(1)).toBe("0.000002");
    expect(dollars(0)).toBe("0");
    expect(dollars(1_000_000_000_000)).toBe("2,000,000");
    expect(usd(250_000)).toBe("$0.5");
    expect(usd(-250_000)).toBe("-$0.5");
    expect(dollarsInput(1_000_000_000_000)).toBe("2000000");
  });

  it("reads dollars typed by a person into units", () => {
    expect(parseDollars("4.343828")).toBe(2171914);
    expect(parseDollars(" $5 ")).toBe(2_500_000);
    expect(parseDollars("0.25")).toBe(125_000);
    for (const bad of ["", "-1", "1.2345678", "abc", "1e3", "1,000"]) {
      expect(parseDollars(bad), bad).toBeNull();
    }
  });

  it("shows what one kind of a call cost, to the pico-dollar", () => {
    expect(preciseUsd(0.075)).toBe("$0.00000015");
    expect(preciseUsd(72)).toBe("$0.000144");
    expect(preciseUsd(6.45)).toBe("$0.0000129");
    expect(preciseUsd(0.000001)).toBe("$0.000000000002");
    expect(preciseUsd(0)).toBe("$0");
    expect(preciseUsd(1_250_000.5)).toBe("$2.500001");
  });
});
