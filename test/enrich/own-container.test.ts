// Which container Outrider runs in (to leave its own logs alone) and which host name it reports.
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveHostName } from '../../src/enrich/host-name.ts';
import { ownContainerFrom, ownLogExcludes } from '../../src/enrich/own-container.ts';
import { tempDir } from '../support/outrider.ts';

const ID = 'b24e6864b04a73af08468a5151188d08fff821082a5576c6da0ff7b4c7af6d57';
const OTHER = 'a'.repeat(64);
const POD = '9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b6c';

// Lines as the kernel writes them, from a Docker container on cgroup v1 (this machine), one on cgroup v2 with a
// private cgroup namespace, and a Kubernetes pod on containerd.
const DOCKER_MOUNTINFO = [
  '74 60 0:51 / / ro,relatime master:30 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X',
  // The node agent mounts every container's directory: not its own.
  `88 74 254:0 /var/lib/docker/containers /var/lib/docker/containers ro,relatime - ext4 /dev/vda rw`,
  `91 74 254:0 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
  `92 74 254:0 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
  `93 74 254:0 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw,relatime - ext4 /dev/vda rw`,
].join('\n');

describe('own container', () => {
  it('Docker: the id from the files the engine mounts into the container, whatever the cgroup says', () => {
    expect(ownContainerFrom(DOCKER_MOUNTINFO, '0::/\n')).toEqual({ id: ID });
    // A separate /var/lib/docker file system: the mount root starts at /containers.
    const separate = DOCKER_MOUNTINFO.replaceAll('/var/lib/docker/containers/', '/containers/');
    expect(ownContainerFrom(separate, '')).toEqual({ id: ID });
    // Another container's hostname file mounted somewhere else is not ours.
    expect(
      ownContainerFrom(
        `95 74 254:0 /var/lib/docker/containers/${OTHER}/hostname /x/hostname rw - ext4 /dev/vda rw`,
        '',
      ),
    ).toEqual({});
  });

  it('cgroup v1: the id at the end of the cgroup path (docker, containerd, CRI-O)', () => {
    for (const path of [
      `/docker/${ID}`,
      `/system.slice/docker-${ID}.scope`,
      `/kubepods/burstable/pod${POD}/${ID}`,
      `/kubepods.slice/cri-containerd-${ID}.scope`,
      `/crio-${ID}.scope`,
    ])
      expect(ownContainerFrom('', `12:pids:${path}\n9:name=systemd:${path}\n`).id, path).toBe(ID);
    expect(ownContainerFrom('', '9:name=systemd:/\n0::/user.slice\n')).toEqual({});
  });

  it('Kubernetes: the pod uid from the kubelet-managed /etc/hosts', () => {
    const k8s = `1200 1190 8:1 /var/lib/kubelet/pods/${POD}/etc-hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw`;
    expect(ownContainerFrom(k8s, `0::/\n`)).toEqual({ podUid: POD });
  });

  it("excludes its json-file log (rotated ones too), kubelet's link and its pod's log directory", async () => {
    const { matchesGlob } = await import('node:path');
    const globs = ownLogExcludes({ id: ID, podUid: POD });
    const excluded = (f: string) => globs.some((g) => matchesGlob(f, g));
    expect(excluded(`/var/lib/docker/containers/${ID}/${ID}-json.log`)).toBe(true);
    expect(excluded(`/var/lib/docker/containers/${ID}/${ID}-json.log.3`)).toBe(true);
    expect(excluded(`/var/log/containers/outrider-x_obs_outrider-${ID}.log`)).toBe(true);
    expect(excluded(`/var/log/pods/obs_outrider-x_${POD}/outrider/0.log`)).toBe(true);
    expect(excluded(`/var/lib/docker/containers/${OTHER}/${OTHER}-json.log`)).toBe(false);
    expect(excluded(`/var/log/pods/obs_app_11111111-2222-3333-4444-555555555555/app/0.log`)).toBe(false);
    expect(ownLogExcludes({})).toEqual([]);
  });
});

describe('host name', () => {
  it('the hostname key, else NODE_NAME, else the Docker engine (GET /info), else the OS', async () => {
    const socket = join(tempDir('outrider-info-'), 'docker.sock');
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"Name":"docker-host-7"}');
    });
    await new Promise<void>((r) => server.listen(socket, r));
    try {
      expect(await resolveHostName('set-in-config', { NODE_NAME: 'node-1' }, socket)).toEqual({
        name: 'set-in-config',
        from: 'config',
      });
      expect(await resolveHostName(undefined, { NODE_NAME: 'node-1' }, socket)).toEqual({
        name: 'node-1',
        from: 'NODE_NAME',
      });
      expect(await resolveHostName(undefined, {}, socket)).toEqual({ name: 'docker-host-7', from: 'docker' });
      expect(paths).toEqual([expect.stringMatching(/^(\/v[\d.]+)?\/info$/)]);
    } finally {
      await new Promise((r) => server.close(r));
    }
    // No engine there (or none configured): the OS name.
    expect(await resolveHostName(undefined, {}, socket)).toEqual({ name: hostname(), from: 'os' });
    expect(await resolveHostName(undefined, {}, undefined)).toEqual({ name: hostname(), from: 'os' });
  });
});
