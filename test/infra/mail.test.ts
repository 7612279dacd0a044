/**
 * The SES grant (infra/constructs/mail.ts): with a sender configured, the API and the usage
 * rollups — the two functions that send mail — may call ses:SendEmail on the sender's identity
 * only, as that sender only; no other function may send, and without a sender nobody may.
 */
import { readFileSync } from "node:fs";
import { App, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { senderAddress } from "../../infra/constructs/mail";
import { SluiceStack } from "../../infra/stack";

/** An ARN in the stack's partition, as the template writes it. */
const arn = (rest: string) => ({ "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, rest]] });

const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"));

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
}

/** A stack synthesised without bundling (only its template's shape is looked at). */
function synth(context: Record<string, unknown>) {
  const app = new App({
    context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [], ...context },
  });
  const stack = new SluiceStack(app, "MailVariant", {
    env: { account: "123456789012", region: "eu-west-1" },
  });
  const template = Template.fromStack(stack).toJSON();
  const idOf = (fn: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(fn.node.defaultChild as CfnElement);
  /** The statements of the policies on a function's role that mention SES. */
  const sesStatements = (fn: { node: { defaultChild?: unknown } }): Statement[] => {
    const role = template.Resources[idOf(fn)].Properties.Role["Fn::GetAtt"][0];
    return Object.values(template.Resources as Record<string, Record<string, unknown>>)
      .filter(
        (r) =>
          r.Type === "AWS::IAM::Policy" &&
          JSON.stringify((r.Properties as { Roles: unknown }).Roles).includes(`"${role}"`),
      )
      .flatMap(
        (r) =>
          (r.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
      )
      .filter((s) => JSON.stringify(s.Action).includes("ses:"));
  };
  const env = (fn: { node: { defaultChild?: unknown } }) =>
    template.Resources[idOf(fn)].Properties.Environment.Variables as Record<string, unknown>;
  return { stack, sesStatements, env };
}

describe("mail through SES", () => {
  it("lets the API and the rollups send as the sender only, on its identity only", () => {
    const { stack, sesStatements, env } = synth({
      "sluice:mailFrom": "Example AI <no-reply@mail.example.com>",
      "sluice:mailIdentity": "example.com",
    });
    for (const fn of [stack.api.function, stack.rollup.function]) {
      const statements = sesStatements(fn);
      expect(statements).toEqual([
        {
          Effect: "Allow",
          Action: "ses:SendEmail",
          Resource: arn(":ses:eu-west-1:123456789012:identity/example.com"),
          Condition: { StringEquals: { "ses:FromAddress": "no-reply@mail.example.com" } },
        },
      ]);
      expect(env(fn)).toMatchObject({
        SLUICE_MAIL: "ses",
        SLUICE_MAIL_FROM: "Example AI <no-reply@mail.example.com>",
      });
    }
    for (const fn of [stack.batch.worker, stack.janitor.function]) {
      expect(sesStatements(fn)).toEqual([]);
      expect(env(fn).SLUICE_MAIL_FROM).toBeUndefined();
    }
  });

  it("takes the sender's domain as its identity, and adds a configuration set when named", () => {
    const { stack, sesStatements, env } = synth({
      "sluice:mailFrom": "ops@example.org",
      "sluice:mailConfigurationSet": "sluice-events",
    });
    const [statement] = sesStatements(stack.api.function);
    // (CDK sorts a statement's resources.)
    expect(statement?.Resource).toEqual([
      arn(":ses:eu-west-1:123456789012:configuration-set/sluice-events"),
      arn(":ses:eu-west-1:123456789012:identity/example.org"),
    ]);
    expect(statement?.Condition).toEqual({
      StringEquals: { "ses:FromAddress": "ops@example.org" },
    });
    expect(env(stack.rollup.function).SLUICE_SES_CONFIGURATION_SET).toBe("sluice-events");
  });

  it("grants no function any SES action without a sender", () => {
    const { stack, sesStatements } = synth({});
    for (const fn of [
      stack.api.function,
      stack.rollup.function,
      stack.batch.worker,
      stack.janitor.function,
    ])
      expect(sesStatements(fn)).toEqual([]);
  });

  it("refuses a sender that is no address, or an identity it does not belong to", () => {
    expect(() => synth({ "sluice:mailFrom": "not an address" })).toThrow(/mailFrom/);
    expect(() =>
      synth({ "sluice:mailFrom": "a@example.com", "sluice:mailIdentity": "other.com" }),
    ).toThrow(/mailIdentity/);
    expect(() => synth({ "sluice:mailIdentity": "example.com" })).toThrow(/need sluice:mailFrom/);
    expect(senderAddress("Site <a@b.example>")).toBe("a@b.example");
  });
});
