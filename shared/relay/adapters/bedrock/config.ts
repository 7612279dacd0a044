/**
 * A Bedrock channel's `config`: `region` (required: the runtime endpoint and the signature's
 * scope) and `betas` (the allow-list of betas.ts). Says what is wrong, or undefined.
 */
export function bedrockConfigProblem(config: Readonly<Record<string, string>>): string | undefined {
  const region = config.region;
  if (!region) return "A bedrock channel needs config.region, e.g. us-east-1.";
  // AWS's region names: us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1, cn-north-1…
  if (!/^[a-z]{2}(-(gov|iso[a-z]?))?-[a-z]+-\d{1,2}$/.test(region)) {
    return `config.region "${region}" is not an AWS region name such as us-east-1.`;
  }
  const betas = config.betas?.trim();
  if (betas && betas !== "none" && !/^[a-z0-9*-]+(\s*,\s*[a-z0-9*-]+)*$/.test(betas)) {
    return "config.betas must be a comma list of beta names (a trailing * matches any suffix), or none.";
  }
  return undefined;
}
