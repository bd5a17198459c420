// decode_threads: auto must follow a container's CPU quota, which Node's availableParallelism() does not apply on
// cgroup v1: parsing checked on the files of cgroup v1 and v2 hosts and Kubernetes pods, then a real quota on this
// machine's own cgroup hierarchy.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupCpuLimit } from '../../src/sources/container_logs/cpu-quota.ts';
import { autoDecodeThreads } from '../../src/sources/container_logs/decode-pool.ts';
import { requireComponents } from '../support/requirements.ts';

const files = (entries: Record<string, string>) => (path: string) => entries[path];

describe('the CPU quota of a cgroup', () => {
  it('is read from cgroup v2 cpu.max, the smallest on the path (a pod limit above its container)', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(
      1.5,
    );
    expect(
      cgroupCpuLimit(
        files({
          '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
          '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n',
          '/sys/fs/cgroup/kubepods/pod1/cpu.max': '100000 100000\n',
          '/sys/fs/cgroup/kubepods/cpu.max': '400000 100000\n',
          '/sys/fs/cgroup/cpu.max': 'max 100000\n',
        }),
      ),
    ).toBe(1);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBe(
      undefined,
    );
  });

  it('is read from the cgroup v1 cpu controller, mounted alone or with cpuacct; -1 is no quota', () => {
    expect(
      cgroupCpuLimit(
        files({
          '/proc/self/cgroup': '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n',
          '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '50000\n',
          '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
        }),
      ),
    ).toBe(0.5);
    expect(
      cgroupCpuLimit(
        files({
          '/proc/self/cgroup': '1:cpu:/\n',
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
        }),
      ),
    ).toBe(undefined);
  });

  it('is unknown when the cgroup files cannot be read', () => {
    expect(cgroupCpuLimit(files({}))).toBe(undefined);
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': 'garbage\n' }))).toBe(undefined);
  });

  it('decides the decode workers of decode_threads: auto', () => {
    expect(autoDecodeThreads(1)).toBe(0);
    expect(autoDecodeThreads(0.5)).toBe(0);
    expect(autoDecodeThreads(1.5)).toBe(2);
    expect(autoDecodeThreads(2)).toBe(2);
    expect(autoDecodeThreads(3.5)).toBe(2);
    // One CPU is the main thread's; each worker is a heap of its own, so there is a ceiling.
    expect(autoDecodeThreads(4)).toBe(3);
    expect(autoDecodeThreads(6.5)).toBe(5);
    expect(autoDecodeThreads(64)).toBe(8);
  });
});

describe('a real CPU quota', async () => {
  const available = await requireComponents('root');
  it.skipIf(!available)('on this machine is found by a process inside the cgroup', () => {
    const v1 = existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us');
    const base = v1 ? '/sys/fs/cgroup/cpu' : '/sys/fs/cgroup';
    if (!v1) {
      // v2: the cpu controller must be enabled for children of the root cgroup.
      try {
        writeFileSync(join(base, 'cgroup.subtree_control'), '+cpu');
      } catch {
        // Already enabled, or managed by the host: writing cpu.max below says whether it works.
      }
    }
    const dir = join(base, `outrider-test-${process.pid}`);
    mkdirSync(dir);
    try {
      if (v1) {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), '100000');
      } else writeFileSync(join(dir, 'cpu.max'), '100000 100000');
      const module = join(import.meta.dirname, '..', '..', 'src', 'sources', 'container_logs', 'cpu-quota.ts');
      const script = `import { cgroupCpuLimit } from ${JSON.stringify(module)}; console.log(JSON.stringify(cgroupCpuLimit()));`;
      const tasks = join(dir, v1 ? 'tasks' : 'cgroup.procs');
      const out = execFileSync(
        'sh',
        ['-c', `echo $$ > ${tasks} && exec "$0" --input-type=module -e "$1"`, process.execPath, script],
        { encoding: 'utf8', timeout: 20_000 },
      );
      expect(JSON.parse(out.trim())).toBe(1);
    } finally {
      rmdirSync(dir);
    }
  });
});
