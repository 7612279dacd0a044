#!/usr/bin/env node
// `npx sluice …`: runs the TypeScript CLI through tsx, which the project already uses.
import { register } from "tsx/esm/api";

register();
await import("./sluice.ts");
