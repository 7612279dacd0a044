import { App } from "aws-cdk-lib";
import { SluiceStack } from "./stack";

const app = new App();

// No `env`: the stack is environment-agnostic, so `cdk synth` needs no credentials.
new SluiceStack(app, "SluiceStack", {
  stackName: "Sluice",
  description: "sluice: an OpenAI-compatible API gateway",
});
