import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerFromCgroup, PidAttribution } from '../../src/enrich/pid-attribution.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { tempDir } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const ID = '6978b8333884e42168d43e140335129a0551a4199067103477d04e07d5c2d5c0';
const POD = '9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b6c';

describe('cgroup parsing', () => {
  it('reads cgroup v1 with the cgroupfs driver (docker on this machine)', () => {
    const text = [
      `9:name=systemd:/docker/${ID}`,
      `4:memory:/docker/${ID}`,
      `1:cpu:/docker/${ID}`,
      `0::/docker/${ID}`,
      '',
    ].join('\n');
    expect(containerFromCgroup(text)).toEqual({ id: ID, runtime: 'docker' });
  });

  it('reads cgroup v1 and v2 with the systemd driver', () => {
    expect(containerFromCgroup(`1:name=systemd:/system.slice/docker-${ID}.scope\n`)).toEqual({
      id: ID,
      runtime: 'docker',
    });
    expect(containerFromCgroup(`0::/system.slice/docker-${ID}.scope\n`)).toEqual({ id: ID, runtime: 'docker' });
  });

  it('reads Kubernetes pods: cgroupfs and systemd layouts, containerd and CRI-O, with the pod uid', () => {
    expect(containerFromCgroup(`11:memory:/kubepods/burstable/pod${POD}/${ID}\n`)).toEqual({
      id: ID,
      runtime: 'cri',
      podUid: POD,
    });
    const systemdPod = POD.replaceAll('-', '_');
    expect(
      containerFromCgroup(
        `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${systemdPod}.slice/cri-containerd-${ID}.scope\n`,
      ),
    ).toEqual({ id: ID, runtime: 'containerd', podUid: POD });
    expect(containerFromCgroup(`0::/kubepods.slice/kubepods-pod${systemdPod}.slice/crio-${ID}.scope\n`)).toEqual({
      id: ID,
      runtime: 'cri-o',
      podUid: POD,
    });
  });

  it('reads a pod container through a cgroup namespace (Outrider in a pod reading the host /proc)', () => {
    // Paths are relative to the reader's cgroup namespace: the pod's container is reached through `..`.
    expect(containerFromCgroup(`4:memory:/../../kubepods/besteffort/pod${POD}/${ID}\n`)).toEqual({
      id: ID,
      runtime: 'cri',
      podUid: POD,
    });
    const systemdPod = POD.replaceAll('-', '_');
    expect(
      containerFromCgroup(
        `0::/../../kubepods-besteffort.slice/kubepods-besteffort-pod${systemdPod}.slice/cri-containerd-${ID}.scope\n`,
      ),
    ).toEqual({ id: ID, runtime: 'containerd', podUid: POD });
  });

  it('gives the innermost container of nested docker, and nothing for host processes', () => {
    const inner = 'a'.repeat(64);
    expect(containerFromCgroup(`0::/docker/${ID}/docker/${inner}\n`)?.id).toBe(inner);
    // This machine's own host processes: a 32-hex memory cgroup is not a container.
    expect(
      containerFromCgroup('9:name=systemd:/\n4:memory:/process_api/ff239c9d8efe820a5540036bd4578a90\n0::/\n'),
    ).toBeUndefined();
    expect(containerFromCgroup('0::/user.slice/user-0.slice/session-1.scope\n')).toBeUndefined();
  });

  it('says a pid is gone rather than guess, and caches answers briefly', () => {
    const proc = tempDir('outrider-proc-');
    mkdirSync(join(proc, '42'));
    writeFileSync(join(proc, '42', 'cgroup'), `0::/docker/${ID}\n`);
    const attribution = new PidAttribution({ procRoot: proc, ttlMs: 60_000 });
    expect(attribution.attribute(42)).toEqual({ kind: 'container', container: { id: ID, runtime: 'docker' } });
    expect(attribution.attribute(43)).toEqual({ kind: 'gone' });
    expect(attribution.containerOf(43)).toBeUndefined();
    writeFileSync(join(proc, '42', 'cgroup'), '0::/\n');
    expect(attribution.attribute(42).kind).toBe('container');
    expect(attribution.attribute(42, Date.now() + 120_000)).toEqual({ kind: 'host' });
  });
});

const ok = await requireComponents('docker', 'root');

describe.skipIf(!ok)('pid attribution on a real container', () => {
  let id = '';
  beforeAll(async () => {
    const image = await ensureTestImage();
    id = await docker('run', '-d', '--label', 'outrider.test=pid', image, 'sleep', '60');
  });
  afterAll(async () => {
    if (id) await docker('rm', '-f', id).catch(() => undefined);
  });

  it('attributes the container main process to its container, the test runner to the host', async () => {
    const pid = Number(await docker('inspect', '-f', '{{.State.Pid}}', id));
    expect(pid).toBeGreaterThan(0);
    const attribution = new PidAttribution();
    const result = attribution.attribute(pid);
    expect(result).toEqual({ kind: 'container', container: { id, runtime: 'docker' } });
    expect(attribution.containerOf(pid)?.id).toBe(id);
    expect(attribution.attribute(process.pid)).toEqual({ kind: 'host' });
    // A process that has exited: its pid names nothing we may attribute.
    const exited = spawnSync('true');
    expect(exited.pid).toBeGreaterThan(0);
    expect(attribution.attribute(exited.pid!).kind).not.toBe('container');
  });
});
