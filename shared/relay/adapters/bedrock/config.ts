import { type Message, msg } from "../../../messages/codes";
/**
 * A Bedrock channel's `config`: `region` (required: the runtime endpoint and the signature's
 * scope) and `betas` (the allow-list of betas.ts). Says what is wrong, or undefined.
 */
export function bedrockConfigProblem(
  config: Readonly<Record<string, string>>,
): Message | undefined {
  const region = config.region;
  if (!region) return msg("bedrock_region_required");
  // AWS's region names: us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1, cn-north-1…
  if (!/^[a-z]{2}(-(gov|iso[a-z]?))?-[a-z]+-\d{1,2}$/.test(region)) {
    return msg("bedrock_region_invalid", { region });
  }
  const betas = config.betas?.trim();
  if (betas && betas !== "none" && !/^[a-z0-9*-]+(\s*,\s*[a-z0-9*-]+)*$/.test(betas)) {
    return msg("bedrock_betas_invalid");
  }
  return undefined;
}
