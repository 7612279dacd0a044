import { ClaudePromptCache } from "./claude-cache";
import { ThinkingSigner } from "./claude-signature";
import { PromptCache } from "./prompt-cache";

/**
 * The state and settings of the non-OpenAI providers one demo upstream imitates: Anthropic's
 * API (anthropic.ts), Claude on Bedrock (bedrock.ts) and DeepSeek (deepseek.ts). One per
 * server, so two fixtures in one test run never share a prompt cache or a signing secret.
 */

/** Claude models the Anthropic API serves, newest first, as GET /v1/models lists them. */
export const CLAUDE_MODELS = [
  "claude-opus-5-5",
  "claude-sonnet-5-5",
  "claude-haiku-5-5",
  "claude-opus-4-5",
  "claude-sonnet-4-5",
  "claude-haiku-4-5",
];

/** Bedrock model ids: base ids, cross-region inference profiles and a global one. */
export const BEDROCK_MODELS = [
  "anthropic.claude-sonnet-4-5-20250929-v1:0",
  "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
  "anthropic.claude-haiku-4-5-20251001-v1:0",
  "global.anthropic.claude-opus-4-5-20251101-v1:0",
];

/** DeepSeek's model ids (deepseek-chat is the non-thinking one). */
export const DEEPSEEK_MODELS = [
  "deepseek-v4-flash",
  "deepseek-v4-pro",
  "deepseek-chat",
  "deepseek-reasoner",
];

/** AWS credentials, as a signer holds them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The test credentials the Bedrock endpoints accept signatures from, unless told others. */
export const BEDROCK_DEMO_CREDENTIALS: AwsCredentials = {
  accessKeyId: "AKIASLUICEDEMO000000",
  secretAccessKey: "sluice/demo/bedrock/secret/0000000000000",
};
/** The Bedrock API key the Bedrock endpoints accept as Bearer, unless told another. */
export const BEDROCK_DEMO_API_KEY = "ABSKc2x1aWNlLWRlbW8tYmVkcm9jay1hcGkta2V5";

export interface ProviderOptions {
  anthropicModels?: string[];
  bedrockModels?: string[];
  deepseekModels?: string[];
  bedrock?: {
    /** The region signatures must be scoped to (default us-east-1). */
    region?: string;
    credentials?: AwsCredentials[];
    apiKey?: string;
  };
}

export interface StoredDemoResponse {
  response: Record<string, unknown>;
  input: Record<string, unknown>[];
  previous: string | null;
}

export interface Providers {
  anthropicModels: string[];
  bedrockModels: string[];
  deepseekModels: string[];
  bedrock: { region: string; credentials: AwsCredentials[]; apiKey: string };
  signer: ThinkingSigner;
  claudeCache: ClaudePromptCache;
  /** DeepSeek caches prompt prefixes in 64-token units (its context-caching guide). */
  deepseekCache: PromptCache;
  /**
   * OpenAI's stored Responses (`store` is true unless the request says false), by id: the
   * Response, the input items it was given (ids minted where they had none) and the response
   * it continued.
   */
  responses: Map<string, StoredDemoResponse>;
}

export function providerState(options: ProviderOptions = {}): Providers {
  return {
    anthropicModels: options.anthropicModels ?? CLAUDE_MODELS,
    bedrockModels: options.bedrockModels ?? BEDROCK_MODELS,
    deepseekModels: options.deepseekModels ?? DEEPSEEK_MODELS,
    bedrock: {
      region: options.bedrock?.region ?? "us-east-1",
      credentials: options.bedrock?.credentials ?? [BEDROCK_DEMO_CREDENTIALS],
      apiKey: options.bedrock?.apiKey ?? BEDROCK_DEMO_API_KEY,
    },
    signer: new ThinkingSigner(),
    claudeCache: new ClaudePromptCache(),
    deepseekCache: new PromptCache(64, 64),
    responses: new Map(),
  };
}
