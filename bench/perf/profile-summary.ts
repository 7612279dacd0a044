/**
 * Summarises a V8 CPU profile (node --cpu-prof) by where the time went: self time per
 * package (node_modules/<name>), per sluice file, per Node internal module, and the hottest
 * functions. `npx tsx bench/perf/profile-summary.ts <file.cpuprofile>`
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function summarise(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);

  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, micros] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const area = areaOf(frame.url, frame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
    const fn = `${frame.functionName || "(anonymous)"}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  }
  const rows = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, micros]) =>
          `  ${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`,
      )
      .join("\n");
  return `Self time ${(total / 1000).toFixed(0)} ms\n\nBy area\n${rows(byArea)}\n\nHottest functions\n${rows(byFunction)}`;
}

function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm ${pkg[1]}`;
  if (url.startsWith("node:")) return url;
  const own = /\/(shared|infra|functions|bench)\/(.+)$/.exec(url);
  return own ? `sluice ${own[1]}/${own[2]}` : url;
}

function shortUrl(url: string): string {
  return url
    .replace(/^.*node_modules\//, "")
    .replace(/^file:\/\/.*?\/(shared|infra|functions|bench)\//, "$1/");
}

if (process.argv[2]) console.log(summarise(process.argv[2], Number(process.argv[3] ?? 25)));
