// The docker_events source against the real engine: exec seen as a process launch into the container, risky starts
// flagged, and the stream resumed across an Outrider restart and a dockerd restart without loss or duplicates.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureTestImage } from '../support/docker.ts';
import { ensureDockerd, restartDockerd } from '../support/dockerd.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary OCSF JSON.
type Json = Record<string, any>;

const ok = await requireComponents('docker', 'root');

describe.skipIf(!ok)('docker_events source on the real engine', () => {
  let dir = '';
  let outFile = '';
  let outrider: TestOutrider | undefined;
  let image = '';
  const containers: string[] = [];
  const tag = randomUUID().slice(0, 8);

  const config = () => ({
    sources: {
      engine: {
        type: 'docker_events',
        checkpoint_interval: '100ms',
        reconnect: { initial_backoff: '100ms', max_backoff: '1s' },
      },
    },
    // The transform rides along so the engine restart also exercises its cache's reconnection (readiness below).
    transforms: {
      meta: { type: 'docker_metadata', inputs: ['engine'], reconnect: { initial_backoff: '100ms', max_backoff: '1s' } },
    },
    sinks: { out: { type: 'file', path: outFile, inputs: ['meta'], batch: { timeout: '50ms' }, fsync: false } },
  });

  beforeAll(async () => {
    image = await ensureTestImage();
    dir = tempDir('outrider-docker-events-');
    outFile = join(dir, 'out.ndjson');
    outrider = await startTestOutrider(config(), join(dir, 'data'), 'info');
  });

  afterAll(async () => {
    await outrider?.stop();
    await ensureDockerd();
    for (const id of containers) await docker('rm', '-f', id).catch(() => undefined);
    const events = readNdjson<Json>(outFile);
    if (events.length > 0) {
      const result = validateOcsf(recordOutput('sources/docker-events', events));
      if (result) expect(result.failed, result.output).toBe(0);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const events = () => readNdjson<Json>(outFile);
  const about = (id: string) => events().filter((e) => e.unmapped?.docker?.actor_id === id);
  const find = (id: string, action: string) => about(id).filter((e) => e.unmapped.docker.action === action);

  async function run(...args: string[]): Promise<string> {
    const id = await docker('run', '-d', ...args);
    containers.push(id);
    return id;
  }

  it('sees `docker exec` as a process launched into the running container', async () => {
    const id = await run('--name', `outrider-exec-${tag}`, image, 'sleep', '60');
    await docker('exec', id, 'sh', '-c', 'echo hi');
    const launched = () => about(id).filter((e) => e.class_uid === 1007 && e.activity_id === 1);
    expect(await waitFor(() => launched().length === 1 && find(id, 'exec_die').length === 1, 20_000)).toBe(true);
    const launch = launched()[0]!;
    expect(launch.process.cmd_line).toBe('sh -c echo hi');
    expect(launch.process.name).toBe('sh');
    expect(launch.process.uid).toMatch(/^[0-9a-f]{64}$/);
    expect(launch.metadata.correlation_uid).toBe(launch.process.uid);
    expect(launch.process.container.uid).toBe(id);
    expect(launch.process.container.name).toBe(`outrider-exec-${tag}`);
    expect(launch.process.container.image.uid).toMatch(/^sha256:/);
    expect(launch.device.container.uid).toBe(id);
    expect(launch.actor.app_name).toBe('Docker Engine');
    const ended = find(id, 'exec_die')[0]!;
    expect(ended).toMatchObject({ class_uid: 1007, activity_id: 2, exit_code: 0, status_id: 1 });
    expect(ended.process.uid).toBe(launch.process.uid);
  });

  it('flags privileged, SYS_ADMIN and host-mount containers, and leaves ordinary ones alone', async () => {
    // This machine's sandbox cannot start privileged containers (runc: "unable to apply caps"), so the privileged
    // one is only created: its create event carries the same facts a start would.
    const privileged = await docker('create', '--privileged', image, 'sleep', '60');
    containers.push(privileged);
    const sysAdmin = await run('--cap-add', 'SYS_ADMIN', image, 'sleep', '60');
    const etc = await run('-v', '/etc:/host-etc:ro', image, 'sleep', '60');
    const hostPid = await run('--pid', 'host', image, 'sleep', '60');
    const plain = await run(image, 'sleep', '60');
    const first = (id: string, action: string) => find(id, action)[0];
    const started = [sysAdmin, etc, hostPid, plain];
    const seen = () => first(privileged, 'create') !== undefined && started.every((id) => first(id, 'start'));
    expect(await waitFor(seen, 20_000)).toBe(true);

    const p = first(privileged, 'create')!;
    expect(p).toMatchObject({ class_uid: 6002, activity_id: 99, activity_name: 'Create', severity_id: 4 });
    expect(p.metadata.labels).toContain('privileged');
    expect(p.unmapped.docker.security.privileged).toBe(true);

    const s = first(sysAdmin, 'start')!;
    expect(s).toMatchObject({ class_uid: 6002, activity_id: 3, severity_id: 4 });
    expect(s.metadata.labels).toContain('cap_add:SYS_ADMIN');
    expect(s.unmapped.docker.security.cap_add).toEqual(['SYS_ADMIN']);

    const m = first(etc, 'start')!;
    expect(m.metadata.labels).toContain('host_mount:/etc');
    expect(m.severity_id).toBeGreaterThanOrEqual(3);
    expect(m.unmapped.docker.security.host_mounts).toEqual([
      { source: '/etc', destination: '/host-etc', read_only: true, sensitive: true },
    ]);

    const h = first(hostPid, 'start')!;
    expect(h.metadata.labels).toContain('host_pid');
    expect(h.severity_id).toBe(4);

    const o = first(plain, 'start')!;
    expect(o.severity_id).toBe(1);
    expect(o.metadata.labels).toBeUndefined();
    expect(o.unmapped.docker.security.privileged).toBe(false);
    for (const e of [p, s, m, h, o]) expect(e.device.container.image.uid).toMatch(/^sha256:/);
  });

  it('resumes after an Outrider restart and a dockerd restart: nothing lost, nothing repeated', async () => {
    const lifecycle = ['create', 'start', 'die'];
    const complete = (id: string) => lifecycle.every((a) => find(id, a).length > 0);

    const before = await run('--name', `outrider-before-${tag}`, image, 'true');
    expect(await waitFor(() => complete(before), 20_000)).toBe(true);

    // Outrider down: the engine keeps events in its buffer; the saved position brings them back.
    await outrider!.stop();
    const whileDown = await run('--name', `outrider-down-${tag}`, image, 'true');
    await docker('wait', whileDown);
    outrider = await startTestOutrider(config(), join(dir, 'data'), 'info');
    expect(await waitFor(() => complete(whileDown), 20_000)).toBe(true);

    // dockerd restarted under a running Outrider: the source notices, reconnects with backoff, and resumes.
    await restartDockerd();
    const after = await run('--name', `outrider-after-${tag}`, image, 'true');
    expect(await waitFor(() => complete(after), 30_000)).toBe(true);
    const metrics = await outrider!.metrics.registry.metrics();
    expect(metrics).toMatch(
      /outrider_docker_reconnects_total\{component="engine",component_kind="[a-z]+",component_type="\w+"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /outrider_docker_reconnects_total\{component="meta",component_kind="[a-z]+",component_type="\w+"\} [1-9]/,
    );
    // Both the source and the transform are healthy again (readiness needs every component).
    expect(await waitFor(() => outrider!.pipeline.readiness().ready, 10_000)).toBe(true);

    for (const id of [before, whileDown, after])
      for (const action of lifecycle) expect(find(id, action), `${action} of ${id}`).toHaveLength(1);
    // Every engine event exactly once over the whole run (at-least-once would allow repeats; none were needed).
    const keys = events()
      .filter((e) => e.unmapped?.docker)
      .map((e) => `${e.metadata.original_time}|${e.unmapped.docker.actor_id}|${e.unmapped.docker.action}`);
    const repeated = keys.filter((k, i) => keys.indexOf(k) !== i);
    expect(repeated).toEqual([]);
  });
});

describe('docker_events source without an engine', () => {
  it('reports itself degraded with the reason, keeps retrying, and stops cleanly', async () => {
    const dir = tempDir('outrider-docker-events-down-');
    const outrider = await startTestOutrider(
      {
        sources: {
          engine: {
            type: 'docker_events',
            socket_path: join(dir, 'no-docker-here.sock'),
            reconnect: { initial_backoff: '50ms', max_backoff: '100ms' },
          },
        },
        sinks: { out: { type: 'file', path: join(dir, 'out.ndjson'), inputs: ['engine'] } },
      },
      join(dir, 'data'),
      'error',
    );
    try {
      const degraded = () => outrider.pipeline.readiness().components.engine?.healthy === false;
      expect(await waitFor(degraded, 5000)).toBe(true);
      expect(outrider.pipeline.readiness().components.engine?.reason).toMatch(/docker events stream/);
      const metrics = await outrider.metrics.registry.metrics();
      expect(metrics).toMatch(
        /outrider_docker_reconnects_total\{component="engine",component_kind="[a-z]+",component_type="\w+"\} [1-9]/,
      );
    } finally {
      expect(await outrider.stop()).toBe(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
