import type { Node } from "constructs";
import { API_FUNCTION } from "../shared/config/resources";
import { type MailOptions, senderAddress } from "./constructs/mail";

/**
 * How a deployment of sluice is set up: CDK context values (`cdk deploy -c key=value`, or
 * `context` in cdk.json), all optional. Each is documented in the README's Deploy section.
 */
export interface DeploymentOptions {
  /** Memory of the API function in MiB (on-demand mode). */
  apiMemoryMiB: number;
  /** Concurrent executions kept for the API function (none: it shares the account's pool). */
  apiReservedConcurrency?: number;
  /** Days every function's log group keeps its lines. */
  logRetentionDays: number;
  /** Where the alarms send email (an SNS subscription the address must confirm). */
  alarmEmail?: string;
  /** `on-demand` (the default) or `managed-instances` (a capacity provider, for steady load). */
  computeMode: "on-demand" | "managed-instances";
  /** Concurrent invocations one execution environment serves in managed-instances mode. */
  managedConcurrency: number;
  /** Runtime settings (SLUICE_*) every function gets in its environment. */
  settings: Record<string, string>;
  /**
   * A domain of your own in front of the function URL (CloudFront, caching off), with the
   * ARN of its ACM certificate in us-east-1. Both or neither.
   */
  domainName?: string;
  certificateArn?: string;
  /**
   * The Bedrock models and inference profiles Bedrock channels may invoke with the API
   * function's role: base ids, cross-region profile ids, either as `region/id` for another
   * region than the stack's, or application inference-profile ARNs. None: no Bedrock access.
   */
  bedrockModels: string[];
  /**
   * Mail through SES (README, E-mail): the sender (`sluice:mailFrom`), the verified identity it
   * belongs to (`sluice:mailIdentity`, its domain by default) and a configuration set
   * (`sluice:mailConfigurationSet`). None: no SES permission (SMTP can still be set in settings).
   */
  mail?: MailOptions;
}

export const DEFAULT_OPTIONS: DeploymentOptions = {
  apiMemoryMiB: API_FUNCTION.memoryMiB,
  logRetentionDays: 30,
  computeMode: "on-demand",
  managedConcurrency: 64,
  settings: {},
  bedrockModels: [],
};

/** Settings the stack itself sets (where the resources are): not for the operator to set. */
const RESERVED_SETTINGS =
  /^SLUICE_(TABLE|LOG_TABLE|BUCKET|BATCH_QUEUE_URL|CHANNEL_KEY_ID|DYNAMODB_ENDPOINT|AWS_ENDPOINT|CONSOLE_DIR|ORIGIN_SECRET)$/;

/**
 * The options from the app's context: `sluice:<name>` for each option, and one
 * `sluice:settings` object (or a JSON string of it) of runtime settings.
 */
export function optionsFromContext(node: Node): DeploymentOptions {
  const get = (name: string) => node.tryGetContext(`sluice:${name}`) as unknown;
  const number = (name: string, min: number, max: number) => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`sluice:${name} must be a whole number from ${min} to ${max}, not ${raw}`);
    }
    return value;
  };
  const computeMode = get("computeMode") ?? DEFAULT_OPTIONS.computeMode;
  if (computeMode !== "on-demand" && computeMode !== "managed-instances") {
    throw new Error(`sluice:computeMode is on-demand or managed-instances, not ${computeMode}`);
  }
  const email = get("alarmEmail");
  const text = (name: string) => {
    const value = get(name);
    return typeof value === "string" && value ? value : undefined;
  };
  return validated({
    apiMemoryMiB: number("apiMemoryMiB", 128, 10_240) ?? DEFAULT_OPTIONS.apiMemoryMiB,
    apiReservedConcurrency: number("apiReservedConcurrency", 1, 100_000),
    logRetentionDays: number("logRetentionDays", 1, 3653) ?? DEFAULT_OPTIONS.logRetentionDays,
    alarmEmail: typeof email === "string" && email ? email : undefined,
    computeMode,
    managedConcurrency: number("managedConcurrency", 1, 1600) ?? DEFAULT_OPTIONS.managedConcurrency,
    settings: settingsFrom(get("settings")),
    domainName: text("domainName"),
    certificateArn: text("certificateArn"),
    bedrockModels: listFrom(get("bedrockModels")),
    mail: mailFrom(text("mailFrom"), text("mailIdentity"), text("mailConfigurationSet")),
  });
}

/** The SES sender, when `sluice:mailFrom` is given; its identity is its domain unless named. */
function mailFrom(
  from: string | undefined,
  identity: string | undefined,
  configurationSet: string | undefined,
): MailOptions | undefined {
  if (!from) {
    if (identity || configurationSet)
      throw new Error("sluice:mailIdentity and sluice:mailConfigurationSet need sluice:mailFrom");
    return undefined;
  }
  const address = senderAddress(from);
  return {
    from,
    identity: identity ?? address.slice(address.lastIndexOf("@") + 1),
    ...(configurationSet ? { configurationSet } : {}),
  };
}

/** A list option: a JSON array, or a comma list (as `-c sluice:name=a,b` gives it). */
function listFrom(raw: unknown): string[] {
  if (raw === undefined || raw === "") return [];
  const list = typeof raw === "string" && !raw.trim().startsWith("[") ? raw.split(",") : raw;
  const parsed = typeof list === "string" ? (JSON.parse(list) as unknown) : list;
  if (!Array.isArray(parsed)) throw new Error("sluice:bedrockModels is a list of model ids");
  return parsed.map((item) => String(item).trim()).filter(Boolean);
}

function settingsFrom(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  const object = typeof raw === "string" ? (JSON.parse(raw) as unknown) : raw;
  if (!object || typeof object !== "object" || Array.isArray(object)) {
    throw new Error("sluice:settings is an object of SLUICE_* names to values");
  }
  return Object.fromEntries(Object.entries(object).map(([name, value]) => [name, String(value)]));
}

/** Checks options given as props (tests, other apps) as the context's are checked. */
export function validated(options: DeploymentOptions): DeploymentOptions {
  for (const name of Object.keys(options.settings)) {
    if (!name.startsWith("SLUICE_") || RESERVED_SETTINGS.test(name)) {
      throw new Error(
        `sluice:settings cannot set ${name}: only runtime settings (SLUICE_*, see the README) are set this way`,
      );
    }
  }
  if (options.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(options.alarmEmail)) {
    throw new Error(`sluice:alarmEmail is not an email address: ${options.alarmEmail}`);
  }
  if ((options.domainName === undefined) !== (options.certificateArn === undefined)) {
    throw new Error("sluice:domainName and sluice:certificateArn go together");
  }
  if (
    options.certificateArn !== undefined &&
    !/^arn:aws[\w-]*:acm:us-east-1:/.test(options.certificateArn)
  ) {
    throw new Error(
      "sluice:certificateArn must be an ACM certificate in us-east-1 (CloudFront's region)",
    );
  }
  if (options.mail) {
    const address = senderAddress(options.mail.from);
    if (!/^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/.test(address))
      throw new Error(`sluice:mailFrom is not an email address: ${options.mail.from}`);
    const { identity } = options.mail;
    const domain = address.slice(address.lastIndexOf("@") + 1).toLowerCase();
    const id = identity.toLowerCase();
    // SES lets a verified domain send for its subdomains too.
    if (id !== address.toLowerCase() && domain !== id && !domain.endsWith(`.${id}`))
      throw new Error(
        `sluice:mailIdentity ${identity} is neither ${address} nor its domain (or a parent of it): SES would refuse the sender`,
      );
  }
  for (const model of options.bedrockModels) {
    if (!BEDROCK_MODEL.test(model) && !BEDROCK_ARN.test(model)) {
      throw new Error(
        `sluice:bedrockModels: ${model} is not a Bedrock model id (anthropic.claude-…-v1:0), an inference profile id (us.anthropic.…), either with a region/ before it, or a Bedrock ARN`,
      );
    }
  }
  return options;
}

/** `[region/]id`: ids are letters, digits, `.`, `-`, `_` and the version's `:`. */
const BEDROCK_MODEL = /^(?:[a-z]{2}(?:-[a-z]+)+-\d{1,2}\/)?[a-z0-9][A-Za-z0-9._:-]*$/;
const BEDROCK_ARN =
  /^arn:aws[\w-]*:bedrock:[a-z0-9-]+:\d{12}:(?:application-inference-profile|inference-profile)\/[A-Za-z0-9._:-]+$|^arn:aws[\w-]*:bedrock:[a-z0-9-]*::foundation-model\/[A-Za-z0-9._:-]+$/;
