import { describe, expect, it } from "vitest";
import { azureAdapter } from "../../shared/relay/adapters/azure";
import {
  azureSpeechAdapter,
  azureVoice,
  prosodyRate,
  ssml,
} from "../../shared/relay/adapters/azure-speech";
import { upstreamModelFor } from "../../shared/relay/adapters/index";
import { openaiAdapter } from "../../shared/relay/adapters/openai";
import { newChannelRecord } from "../../shared/store/channels";

const channel = (fields: Parameters<typeof newChannelRecord>[0]) => newChannelRecord(fields);

describe("openai adapter", () => {
  it("posts JSON to the base URL with the channel's key as a bearer token", () => {
    const request = openaiAdapter.request(
      channel({ id: "c", baseUrl: "https://api.example.com/v1/", models: ["m"], key: "sk-up" }),
      { path: "/chat/completions", model: "m", upstreamModel: "m", json: { model: "m" } },
    );
    expect(request).toEqual({
      url: "https://api.example.com/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-up" },
      body: '{"model":"m"}',
    });
  });
});

describe("azure adapter", () => {
  const azure = channel({
    id: "c",
    type: "azure",
    baseUrl: "https://res.openai.azure.com",
    models: ["gpt-3.5-turbo", "gpt-4o"],
    key: "azure-key",
    modelMapping: { "gpt-4o": "prod-4o" },
    config: { api_version: "2024-06-01" },
  });

  it("puts the deployment in the path, the version in the query and the key in api-key", () => {
    const request = azureAdapter.request(azure, {
      path: "/chat/completions",
      model: "gpt-4o",
      upstreamModel: "prod-4o",
      json: { model: "prod-4o" },
    });
    expect(request.url).toBe(
      "https://res.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-06-01",
    );
    expect(request.headers).toEqual({ "content-type": "application/json", "api-key": "azure-key" });
  });

  it("names an unmapped deployment after the model without dots, as Azure does", () => {
    const unmapped = { ...azure, config: {} };
    expect(upstreamModelFor(unmapped, "gpt-4o")).toBe("prod-4o");
    expect(upstreamModelFor(unmapped, "gpt-3.5-turbo")).toBe("gpt-35-turbo");
    const request = azureAdapter.request(unmapped, {
      path: "/embeddings",
      model: "gpt-3.5-turbo",
      upstreamModel: upstreamModelFor(unmapped, "gpt-3.5-turbo"),
      json: {},
    });
    expect(request.url).toBe(
      "https://res.openai.azure.com/openai/deployments/gpt-35-turbo/embeddings?api-version=2024-10-21",
    );
  });

  it("does not serve paths Azure OpenAI lacks", () => {
    expect(azureAdapter.serves("/moderations")).toBe(false);
    expect(azureAdapter.serves("/chat/completions")).toBe(true);
  });
});

describe("azure speech voices", () => {
  it("passes Azure's voice names on, and gives anything else the default voice", () => {
    for (const voice of [
      "zh-CN-XiaoxiaoMultilingualNeural",
      "zh-CN-henan-YundengNeural",
      "en-US-Ava:DragonHDLatestNeural",
      "fil-PH-BlessicaNeural",
    ])
      expect(azureVoice(voice)).toBe(voice);
    for (const voice of ["alloy", 'zh-CN-Xiao"><x', "", 42, undefined])
      expect(azureVoice(voice)).toBe("en-US-AvaMultilingualNeural");
  });
});

describe("azure speech adapter", () => {
  const speech = channel({
    id: "s",
    type: "azure-speech",
    baseUrl: "https://eastus.tts.speech.microsoft.com",
    models: ["tts-az-1"],
    key: "speech-key",
  });

  it("turns an OpenAI speech request into SSML with the voice, rate and output format", () => {
    const request = azureSpeechAdapter.request(speech, {
      path: "/audio/speech",
      model: "tts-az-1",
      upstreamModel: "tts-az-1",
      json: {
        input: "你好 & <hi>",
        voice: "zh-CN-XiaoxiaoMultilingualNeural",
        speed: 1.25,
        response_format: "opus",
      },
    });
    expect(request.url).toBe("https://eastus.tts.speech.microsoft.com/cognitiveservices/v1");
    expect(request.headers).toMatchObject({
      "content-type": "application/ssml+xml",
      "x-microsoft-outputformat": "ogg-24khz-16bit-mono-opus",
      "ocp-apim-subscription-key": "speech-key",
    });
    expect(request.body).toBe(
      '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="zh-CN">' +
        '<voice name="zh-CN-XiaoxiaoMultilingualNeural"><prosody rate="+25%">你好 &amp; &lt;hi&gt;</prosody></voice></speak>',
    );
  });

  it("maps OpenAI voice names to a default Azure voice, and refuses formats Azure lacks", () => {
    expect(ssml("hi", "en-US-AvaMultilingualNeural", 1)).toContain('xml:lang="en-US"');
    const request = azureSpeechAdapter.request(speech, {
      path: "/audio/speech",
      model: "tts-az-1",
      upstreamModel: "tts-az-1",
      json: { input: "hi", voice: "alloy" },
    });
    expect(request.body).toContain('<voice name="en-US-AvaMultilingualNeural">');
    expect(request.headers["x-microsoft-outputformat"]).toBe("audio-24khz-48kbitrate-mono-mp3");
    expect(() =>
      azureSpeechAdapter.request(speech, {
        path: "/audio/speech",
        model: "tts-az-1",
        upstreamModel: "tts-az-1",
        json: { input: "hi", voice: "alloy", response_format: "aac" },
      }),
    ).toThrow(/response_format aac is not available/);
    expect(azureSpeechAdapter.serves("/chat/completions")).toBe(false);
  });

  it("turns speed into a prosody rate", () => {
    expect(prosodyRate(1)).toBe("+0%");
    expect(prosodyRate(0.5)).toBe("-50%");
    expect(prosodyRate(2)).toBe("+100%");
  });
});
