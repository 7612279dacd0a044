/**
 * CPU bandwidth groups for the share bench, as root: cgroup v1's `cpu` controller
 * (cpu.cfs_period_us, cpu.cfs_quota_us) or v2's (cpu.max). Each group is made fresh under the
 * controller's root and removed once its processes have ended.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Why the bench cannot make CPU groups here, in a sentence. */
export class CgroupsUnavailable extends Error {}

export interface CpuGroup {
  path: string;
  /** Where a process's pid is written to move it into the group. */
  procs: string;
  /** CFS periods so far, and those in which the group ran out of its quota. */
  periods(): { periods: number; throttled: number };
  /** Removes the group; its processes must have ended (it waits a little for them). */
  remove(): Promise<void>;
}

export interface CpuController {
  version: 1 | 2;
  root: string;
  group(name: string, quotaUs: number, periodUs: number): CpuGroup;
}

const V1_ROOTS = ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"];
const V2_ROOT = "/sys/fs/cgroup";

/** The cgroup CPU controller of this machine, or CgroupsUnavailable saying why not. */
export function cpuController(): CpuController {
  if (process.getuid?.() !== 0)
    throw new CgroupsUnavailable(
      "The share bench needs root: it makes cgroups to give processes a share of a CPU (sudo npm run bench -- --share).",
    );
  const v1 = V1_ROOTS.find((root) => existsSync(join(root, "cpu.cfs_quota_us")));
  if (v1) return controller(1, v1);
  const available = join(V2_ROOT, "cgroup.controllers");
  if (existsSync(available) && readFileSync(available, "utf8").split(/\s+/).includes("cpu")) {
    const subtree = join(V2_ROOT, "cgroup.subtree_control");
    if (!readFileSync(subtree, "utf8").split(/\s+/).includes("cpu"))
      attempt(`enable the cpu controller in ${subtree}`, () => writeFileSync(subtree, "+cpu"));
    return controller(2, V2_ROOT);
  }
  throw new CgroupsUnavailable(
    `No cgroup CPU controller here: neither v1's (${V1_ROOTS.join(" or ")}) nor v2's (cpu in ${available}).`,
  );
}

function controller(version: 1 | 2, root: string): CpuController {
  return {
    version,
    root,
    group(name, quotaUs, periodUs) {
      const path = join(root, name);
      attempt(`make the cgroup ${path}`, () => {
        mkdirSync(path, { recursive: true });
        if (version === 1) {
          writeFileSync(join(path, "cpu.cfs_period_us"), String(periodUs));
          writeFileSync(join(path, "cpu.cfs_quota_us"), String(quotaUs));
        } else {
          writeFileSync(join(path, "cpu.max"), `${quotaUs} ${periodUs}`);
        }
      });
      return {
        path,
        procs: join(path, "cgroup.procs"),
        periods() {
          const stat = Object.fromEntries(
            readFileSync(join(path, "cpu.stat"), "utf8")
              .trim()
              .split("\n")
              .map((line) => line.split(" ") as [string, string]),
          );
          return { periods: Number(stat.nr_periods), throttled: Number(stat.nr_throttled) };
        },
        remove: () => removeGroup(path),
      };
    },
  };
}

function attempt(what: string, action: () => void): void {
  try {
    action();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CgroupsUnavailable(`The share bench cannot ${what} (${code}).`);
  }
}

/** rmdir fails (EBUSY) until the kernel has taken the group's last process out of it. */
async function removeGroup(path: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      if (existsSync(path)) rmdirSync(path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EBUSY" || tries >= 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
