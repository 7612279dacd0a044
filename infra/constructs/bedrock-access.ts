import { Stack } from "aws-cdk-lib";
import { Effect, type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";

/** What a Bedrock channel calls (InvokeModel, its stream, and CountTokens for count_tokens). */
export const BEDROCK_ACTIONS = [
  "bedrock:InvokeModel",
  "bedrock:InvokeModelWithResponseStream",
  "bedrock:CountTokens",
];

/** A cross-region inference profile's id: a geography before the provider (`us.anthropic.…`). */
const PROFILE = /^([a-z]{2,6})\.([a-z0-9-]+\..+)$/;

/**
 * The ARNs a model the operator names may be invoked on, in `region` (the stack's unless the
 * name says `region/id`):
 * - a base model id (`anthropic.claude-…-v1:0`): its foundation-model ARN;
 * - a cross-region inference profile (`us.…`, `eu.…`, `global.…`): the profile's ARN in this
 *   account, and its model's foundation-model ARN in every region (`*`), since the profile
 *   routes calls to its destination regions (AWS "Prerequisites for inference profiles");
 * - a full ARN (an application inference profile): itself; its model is named on its own.
 */
export function bedrockModelArns(
  names: readonly string[],
  where: { region: string; account: string; partition: string },
): string[] {
  const arns = new Set<string>();
  for (const name of names) {
    if (name.startsWith("arn:")) {
      arns.add(name);
      continue;
    }
    const slash = name.indexOf("/");
    const region = slash === -1 ? where.region : name.slice(0, slash);
    const id = slash === -1 ? name : name.slice(slash + 1);
    const bedrock = `arn:${where.partition}:bedrock`;
    const profile = PROFILE.exec(id);
    if (profile) {
      arns.add(`${bedrock}:${region}:${where.account}:inference-profile/${id}`);
      arns.add(`${bedrock}:*::foundation-model/${profile[2]}`);
    } else {
      arns.add(`${bedrock}:${region}::foundation-model/${id}`);
    }
  }
  return [...arns];
}

/**
 * Lets `grantee` invoke exactly the named models and inference profiles (options
 * `bedrockModels`); nothing when none are named, so a deployment without Bedrock channels
 * has no Bedrock permission at all.
 */
export function grantBedrockModels(
  grantee: IGrantable & IConstruct,
  names: readonly string[],
): void {
  if (names.length === 0) return;
  const stack = Stack.of(grantee);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: BEDROCK_ACTIONS,
      resources: bedrockModelArns(names, {
        region: stack.region,
        account: stack.account,
        partition: stack.partition,
      }),
    }),
  );
}
