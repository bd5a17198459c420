// How many CPUs a container may use. A pod's CPU limit is a cgroup quota, not fewer CPUs: the process still sees
// every CPU of the node, and Node 24's availableParallelism() (libuv 1.52) does not apply a cgroup v1 quota (checked
// on a v1 host: 2 with a 1-CPU quota). Decode workers beyond the quota only get throttled.
import { readFileSync } from 'node:fs';

/** Reads a file's text, or undefined when it cannot be read. */
export type ReadText = (path: string) => string | undefined;

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The CPU quota of this process's cgroup and its ancestors, in CPUs (1.5 for `150000 100000`); undefined when there is
 * none, or the cgroup files cannot be read. cgroup v2: `cpu.max` ("max 100000" or "QUOTA PERIOD"); v1: the `cpu`
 * controller's `cpu.cfs_quota_us` (-1: none) and `cpu.cfs_period_us`. The smallest quota on the path applies.
 */
export function cgroupCpuLimit(read: ReadText = readIfPresent, root = '/sys/fs/cgroup'): number | undefined {
  const membership = read('/proc/self/cgroup');
  if (membership === undefined) return undefined;
  let limit: number | undefined;
  const consider = (quota: number, period: number) => {
    if (quota > 0 && period > 0) limit = Math.min(limit ?? Number.POSITIVE_INFINITY, quota / period);
  };
  for (const line of membership.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    if (controllers === '') {
      for (const dir of ancestors(root, path)) {
        const [quota, period] = (read(`${dir}/cpu.max`) ?? '').trim().split(/\s+/);
        if (quota !== undefined && quota !== 'max' && period !== undefined) consider(Number(quota), Number(period));
      }
    } else if (controllers!.split(',').includes('cpu')) {
      // v1 mounts the controller at cpu, or together with cpuacct.
      for (const mount of [`${root}/${controllers}`, `${root}/cpu`, `${root}/cpu,cpuacct`])
        for (const dir of ancestors(mount, path)) {
          const quota = read(`${dir}/cpu.cfs_quota_us`);
          const period = read(`${dir}/cpu.cfs_period_us`);
          if (quota !== undefined && period !== undefined) consider(Number(quota), Number(period));
        }
    }
  }
  return limit;
}

/** `base` + `path` and each of its parents up to `base` itself (a cgroup namespace shows `/` as the path). */
function ancestors(base: string, path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '..');
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push([base, ...parts.slice(0, n)].join('/'));
  return dirs;
}
