import { App } from "aws-cdk-lib";
import { SluiceStack } from "./stack";

const app = new App();

// No `env`: the stack is environment-agnostic, so `cdk synth` needs no credentials. Its
// options come from the context (`-c sluice:<name>=<value>`, see infra/options.ts).
new SluiceStack(app, "SluiceStack", {
  stackName: "Sluice",
  description: "sluice: an OpenAI-compatible API gateway",
});
