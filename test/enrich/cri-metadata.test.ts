// The CRI metadata cache and the cri_metadata transform: the calls it can and does make (a recording gRPC proxy in
// front of a real containerd), metadata taken when a container's log appears, tombstones and bounds, and every way
// the runtime can fail it — absent, refusing, an unknown API version, not serving runtime.v1, a container it no
// longer knows, a log path outside the CRI layout, a restart — with events flowing on, flagged and counted.
import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentContext } from '../../src/core/component.ts';
import type { ContainerRef, Envelope } from '../../src/core/envelope.ts';
import { CRI_PROTO, criRuntimeService } from '../../src/enrich/cri-client.ts';
import { podContainerKey } from '../../src/enrich/cri-describe.ts';
import { CriMetadataCache, type CriMetadataOptions } from '../../src/enrich/cri-metadata.ts';
import { type ContainerFeed, RunningContainers } from '../../src/enrich/running-containers.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { mapContainerLine } from '../../src/ocsf/mappers/container-log.ts';
import { containerFromPath } from '../../src/sources/container_logs/path-meta.ts';
import { criMetadataSchema } from '../../src/transforms/cri_metadata/config.ts';
import { CriMetadataTransform } from '../../src/transforms/cri_metadata/index.ts';
import { TestContainerd, type TestPod } from '../support/containerd.ts';
import { RecordingGrpcProxy } from '../support/grpc-proxy.ts';
import { SHARED } from '../support/output.ts';
import { tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const ok = await requireComponents('root', 'docker', 'containerd');
const READ_ONLY_RPCS = ['ContainerStatus', 'ListContainers', 'ListPodSandbox', 'PodSandboxStatus', 'Version'];

interface Harness {
  ctx: ComponentContext;
  metrics: Metrics;
  health: Array<[boolean, string | undefined]>;
}

function harness(): Harness {
  const metrics = new Metrics(false);
  const health: Array<[boolean, string | undefined]> = [];
  const ctx: ComponentContext = {
    name: 'meta',
    logger: createLogger('error'),
    metrics,
    stateDir: tempDir(),
    hostname: 'node-host',
    setHealthy: (healthy, reason) => health.push([healthy, reason]),
  };
  return { ctx, metrics, health };
}

function cache(
  socket: string,
  h: Harness,
  options: Partial<CriMetadataOptions> = {},
  running?: ContainerFeed,
): CriMetadataCache {
  return new CriMetadataCache(
    {
      socket,
      requestTimeoutMs: 2000,
      tombstoneTtlMs: 60_000,
      maxEntries: 100,
      resyncIntervalMs: 60_000,
      reconnect: { initialMs: 50, maxMs: 200 },
      podLabels: { keys: ['app'], prefixes: [] },
      podAnnotations: { keys: [], prefixes: [] },
      ...options,
    },
    {
      logger: h.ctx.logger,
      metrics: h.metrics,
      component: 'meta',
      onHealth: (healthy, reason) => h.ctx.setHealthy(healthy, reason),
      ...(running ? { running } : {}),
    },
  );
}

async function transform(config: Record<string, unknown>, h: Harness): Promise<CriMetadataTransform> {
  const t = new CriMetadataTransform(
    criMetadataSchema.parse({ inputs: ['logs'], max_wait: '500ms', request_timeout: '1s', ...config }),
  );
  await t.start(h.ctx);
  return t;
}

/** An event of a CRI log line at `path`, as the container_logs source makes it. */
function logEvent(path: string, message: string): Envelope {
  const container = containerFromPath(path);
  const event = mapContainerLine({
    format: 'cri',
    message,
    stream: 'stdout',
    time: Date.now(),
    raw: `2026-12-05T00:00:00.000000000Z stdout F ${message}`,
    hostname: 'node-host',
    path,
    container,
  }).event;
  return { event, source: 'logs', raw: message, container };
}

async function counter(metrics: Metrics, name: string): Promise<Record<string, number>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const out: Record<string, number> = {};
  for (const v of (metric?.values ?? []) as Array<{ labels: Record<string, string>; value: number }>)
    out[v.labels.result ?? 'value'] = v.value;
  return out;
}

const podPath = (root: string, pod: { namespace: string; name: string; uid: string }, container: string, n = 0) =>
  join(root, `${pod.namespace}_${pod.name}_${pod.uid}`, container, `${n}.log`);

describe('the CRI client', () => {
  it('can make only the five read-only calls: its definition has no other method', () => {
    const methods = Object.keys(criRuntimeService().service).sort();
    expect(methods).toEqual(READ_ONLY_RPCS);
  });

  it('reads what the upstream CRI definition writes (same field numbers and types)', () => {
    const options = { keepCase: true, longs: String, enums: String, defaults: true };
    const upstream = grpc.loadPackageDefinition(
      protoLoader.loadSync(join(SHARED, 'cri', 'api.proto'), options),
    ) as unknown as {
      runtime: { v1: { RuntimeService: { service: grpc.ServiceDefinition } } };
    };
    const ours = criRuntimeService().service;
    const theirs = upstream.runtime.v1.RuntimeService.service;
    const status = {
      status: {
        id: 'c'.repeat(64),
        metadata: { name: 'web', attempt: 2 },
        state: 'CONTAINER_EXITED',
        created_at: '1796428155173514700',
        started_at: '1796428155814892949',
        exit_code: 3,
        image: { image: 'docker.io/library/nginx:1.27', user_specified_image: 'nginx:1.27', annotations: { a: 'b' } },
        image_ref: `docker.io/library/nginx@sha256:${'d'.repeat(64)}`,
        labels: { 'io.kubernetes.pod.name': 'shop' },
        annotations: { 'io.kubernetes.container.restartCount': '2' },
        mounts: [{ container_path: '/data', host_path: '/srv', readonly: true }],
        log_path: '/var/log/pods/ns_shop_uid/web/2.log',
        image_id: `sha256:${'e'.repeat(64)}`,
      },
      info: { pid: '42' },
    };
    const wire = theirs.ContainerStatus!.responseSerialize(status);
    const read = ours.ContainerStatus!.responseDeserialize(wire) as { status: Record<string, unknown> };
    expect(read.status).toMatchObject({
      id: status.status.id,
      metadata: { name: 'web', attempt: 2 },
      image: { image: 'docker.io/library/nginx:1.27', user_specified_image: 'nginx:1.27' },
      image_ref: status.status.image_ref,
      labels: status.status.labels,
      log_path: status.status.log_path,
    });
    const sandboxes = {
      items: [
        {
          id: 's'.repeat(64),
          metadata: { name: 'shop', uid: randomUUID(), namespace: 'team', attempt: 1 },
          state: 'SANDBOX_READY',
          created_at: '1',
          labels: { app: 'shop' },
          annotations: { owner: 'alice' },
          runtime_handler: 'runc',
        },
      ],
    };
    const readSandboxes = ours.ListPodSandbox!.responseDeserialize(
      theirs.ListPodSandbox!.responseSerialize(sandboxes),
    ) as typeof sandboxes;
    const { runtime_handler: _notRead, ...sandbox } = sandboxes.items[0]!;
    expect(readSandboxes.items[0]).toEqual(sandbox);
    expect(CRI_PROTO.endsWith('cri-runtime.proto')).toBe(true);
  });
});

describe('when the CRI runtime cannot be used, events flow on, flagged with the reason and counted', () => {
  const dir = tempDir('outrider-cri-fail-');
  const pod = { namespace: 'team', name: 'shop-1', uid: randomUUID() };
  const path = podPath('/var/log/pods', pod, 'web');

  async function expectDegraded(socket: string, reason: RegExp): Promise<void> {
    const h = harness();
    const t = await transform({ socket, log_directory: '' }, h);
    try {
      expect(h.health.at(-1)?.[0]).toBe(false);
      expect(h.health.at(-1)?.[1]).toMatch(reason);
      const events = [logEvent(path, 'one'), logEvent(path, 'two')];
      const out = await t.process(events);
      expect(out).toHaveLength(2);
      for (const e of out) {
        expect(e.event.metadata.labels).toContain('enrichment_missing');
        expect(e.event.unmapped?.outrider_enrichment_missing).toMatch(reason);
        // What the path said is still there.
        expect(e.container).toMatchObject({ k8s: { pod: 'shop-1', podUid: pod.uid }, enrichmentMissing: true });
      }
      expect(await counter(h.metrics, 'outrider_enrichment_lookups_total')).toEqual({ unavailable: 2 });
      expect((await counter(h.metrics, 'outrider_cri_api_up')).value).toBe(0);
      expect((await counter(h.metrics, 'outrider_cri_reconnects_total')).value).toBeGreaterThanOrEqual(1);
    } finally {
      await t.stop();
    }
  }

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('absent socket', async () => {
    await expectDegraded(join(dir, 'absent.sock'), /unreachable at .*absent\.sock.*ENOENT|No connection/);
  });

  it('a socket nobody listens on (connection refused)', async () => {
    const live = join(dir, 'live.sock');
    const dead = join(dir, 'refusing.sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(live, r));
    // A second name for the socket outlives the listener: connecting to it is refused.
    linkSync(live, dead);
    await new Promise<void>((r) => server.close(() => r()));
    await expectDegraded(dead, /unreachable at .*refusing\.sock.*ECONNREFUSED|No connection/);
  });

  it('a runtime answering an unknown API version, and one not serving runtime.v1 at all', async () => {
    const servers: grpc.Server[] = [];
    const serve = async (socket: string, version?: string) => {
      const server = new grpc.Server();
      if (version)
        server.addService(criRuntimeService().service, {
          Version: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
            cb(null, { version: '0.1.0', runtime_name: 'future-runtime', runtime_api_version: version }),
        });
      await new Promise<void>((resolve, reject) =>
        server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      servers.push(server);
    };
    try {
      await serve(join(dir, 'v2.sock'), 'v2');
      await expectDegraded(join(dir, 'v2.sock'), /answered API version "v2"; Outrider speaks v1/);
      await serve(join(dir, 'v1alpha2.sock'));
      await expectDegraded(join(dir, 'v1alpha2.sock'), /does not serve the runtime\.v1 API/);
    } finally {
      for (const s of servers) s.forceShutdown();
    }
  });
});

describe.skipIf(!ok)('the CRI metadata cache on a real containerd', () => {
  let ctd: TestContainerd;
  let proxy: RecordingGrpcProxy;

  beforeAll(async () => {
    ctd = await TestContainerd.start();
    await ctd.importImages();
    proxy = new RecordingGrpcProxy(join(ctd.dir, 'recorded.sock'), ctd.socket);
    await proxy.start();
  }, 180_000);

  afterAll(async () => {
    await proxy?.stop();
    await ctd?.stop();
    // Whatever the tests did, Outrider asked the runtime only read-only questions.
    const called = new Set(proxy.methods.map((m) => m.replace('/runtime.v1.RuntimeService/', '')));
    expect([...called].filter((m) => !READ_ONLY_RPCS.includes(m))).toEqual([]);
    expect(proxy.methods.length).toBeGreaterThan(0);
  }, 120_000);

  const short = (pod: TestPod, name: string) =>
    ctd.startContainer(pod, { name, command: ['sh', '-c', `echo ${name} was here`] });

  it('describes a container when its log file appears: a pod removed at once is described before any event asks', async () => {
    const h = harness();
    // No periodic listing in this test's time: only the log-directory watch can make the cache list.
    const watched = cache(proxy.path, h, { logDirectory: ctd.podLogs, node: 'node-a' });
    const unwatched = cache(proxy.path, harness());
    await watched.start();
    await unwatched.start();
    try {
      expect(watched.available && unwatched.available).toBe(true);
      const pod = await ctd.runPod('blink', 'team', { app: 'blink', other: 'x' });
      const id = await short(pod, 'once');
      expect(await ctd.waitExited(id)).toBe(true);
      await ctd.removePod(pod);
      const key = podContainerKey(pod.uid, 'once', 0);
      const entry = watched.entry(key);
      expect(entry?.ref).toEqual({
        id,
        name: 'once',
        runtime: 'containerd',
        image: {
          id: ctd.busyboxDigest.split('@')[1],
          name: 'docker.io/outrider-test/busybox',
          tag: '2',
          digest: ctd.busyboxDigest.split('@')[1],
        },
        labels: { app: 'blink' },
        k8s: { namespace: 'team', pod: 'blink', podUid: pod.uid, container: 'once', restartCount: 0, node: 'node-a' },
      } satisfies ContainerRef);
      expect(watched.lookup(id)).toBe(entry?.ref);
      // Without the watch, nothing asked: the container came and went unseen.
      expect(unwatched.entry(key)).toBeUndefined();
    } finally {
      await watched.stop();
      await unwatched.stop();
    }
  });

  it('keeps a removed container as a tombstone for tombstone_ttl, then forgets it; holds at most cache_size', async () => {
    const tombstones = cache(proxy.path, harness(), { tombstoneTtlMs: 1500, resyncIntervalMs: 200 });
    const small = cache(proxy.path, harness(), { maxEntries: 2, resyncIntervalMs: 200 });
    await tombstones.start();
    await small.start();
    try {
      const pod = await ctd.runPod('tomb', 'team');
      const ids = [await short(pod, 'a'), await short(pod, 'b'), await short(pod, 'c')];
      const keys = ['a', 'b', 'c'].map((n) => podContainerKey(pod.uid, n, 0));
      expect(await waitFor(() => keys.every((k) => tombstones.entry(k) !== undefined), 5000)).toBe(true);
      // Three live containers, room for two: one is always out (described again when a listing misses it).
      expect(await waitFor(() => small.size === 2, 5000)).toBe(true);
      expect(keys.filter((k) => small.entry(k) !== undefined)).toHaveLength(2);
      await ctd.removePod(pod);
      expect(await waitFor(() => keys.every((k) => tombstones.entry(k)?.removedAt !== undefined), 5000)).toBe(true);
      expect(keys.map((k) => tombstones.entry(k)?.ref.id)).toEqual(ids);
      expect(await waitFor(() => tombstones.size === 0, 5000)).toBe(true);
      expect(keys.map((k) => tombstones.entry(k))).toEqual([undefined, undefined, undefined]);
      expect(tombstones.lookup(ids[0]!)).toBeUndefined();
    } finally {
      await tombstones.stop();
      await small.stop();
    }
  });

  it('tells the registry of running containers which run, by image digest, with pod and node; exits and removals leave it', async () => {
    const registry = new RunningContainers();
    const changes: string[] = [];
    registry.subscribe((c) => changes.push(`${c.kind} ${c.container.ref.name}`));
    const c = cache(proxy.path, harness(), { resyncIntervalMs: 200, node: 'node-a' }, registry.feed('cri'));
    const digest = ctd.busyboxDigest.split('@')[1]!;
    const running = () =>
      registry
        .withImage([digest])
        .map((r) => r.ref.name)
        .sort();
    await c.start();
    try {
      expect(registry.synced).toBe(true);
      const pod = await ctd.runPod('vuln', 'team', { app: 'vuln' });
      const long = await ctd.startContainer(pod, { name: 'long', command: ['sleep', '300'] });
      const once = await short(pod, 'once');
      expect(await ctd.waitExited(once)).toBe(true);
      expect(await waitFor(() => running().join() === 'long', 5000)).toBe(true);
      const held = registry.get(long)!;
      expect(held.node).toBe('node-a');
      expect(held.ref).toMatchObject({
        id: long,
        runtime: 'containerd',
        image: { id: digest, digest },
        k8s: { namespace: 'team', pod: 'vuln', podUid: pod.uid, container: 'long', node: 'node-a' },
      });
      // Stopped: it leaves at the next listing, though the runtime still lists it (exited).
      await ctd.call('StopContainer', { container_id: long, timeout: 0 });
      expect(await waitFor(() => running().length === 0, 5000)).toBe(true);
      expect(await ctd.call('ContainerStatus', { container_id: long })).toMatchObject({
        status: { state: 'CONTAINER_EXITED' },
      });
      // Removed with its pod: a container that ran until then leaves as well.
      const again = await ctd.startContainer(pod, { name: 'long', attempt: 1, command: ['sleep', '300'] });
      expect(await waitFor(() => registry.get(again) !== undefined, 5000)).toBe(true);
      await ctd.removePod(pod);
      expect(await waitFor(() => registry.get(again) === undefined, 5000)).toBe(true);
      // The short-lived one left too, if a listing ever caught it running.
      expect(changes.filter((x) => x.endsWith(' long'))).toEqual([
        'started long',
        'stopped long',
        'started long',
        'stopped long',
      ]);
      expect(changes.filter((x) => x.endsWith(' once'))).toEqual(
        changes.some((x) => x === 'started once') ? ['started once', 'stopped once'] : [],
      );
    } finally {
      await c.stop();
    }
    expect(registry.fed).toBe(false);
  });

  it('flags lines of a container the runtime no longer knows and of a log path outside the CRI layout', async () => {
    const gone = await ctd.runPod('gone', 'team');
    const goneId = await short(gone, 'app');
    expect(await ctd.waitExited(goneId)).toBe(true);
    await ctd.removePod(gone);
    const h = harness();
    const t = await transform({ socket: proxy.path, log_directory: '' }, h);
    try {
      const unknownPath = podPath(ctd.podLogs, gone, 'app');
      const auditLike: Envelope = { ...logEvent('/x', 'exec'), container: { id: goneId, runtime: 'cri' } };
      const dockers: Envelope = logEvent(
        `/var/lib/docker/containers/${'a'.repeat(64)}/${'a'.repeat(64)}-json.log`,
        'd',
      );
      const events = [
        logEvent(unknownPath, 'late line'),
        auditLike,
        logEvent('/srv/logs/app.log', 'no layout'),
        dockers,
        { ...logEvent('/y', 'host event'), container: undefined },
      ];
      const out = await t.process(events);
      expect(out).toHaveLength(5);
      const reasons = out.map((e) => e.event.unmapped?.outrider_enrichment_missing);
      expect(reasons[0]).toMatch(/container unknown to the CRI runtime/);
      expect(reasons[1]).toMatch(/container unknown to the CRI runtime/);
      expect(reasons[2]).toMatch(/log path does not follow the CRI layout/);
      // Docker's containers and host events are not this transform's: untouched.
      expect(reasons[3]).toBeUndefined();
      expect(reasons[4]).toBeUndefined();
      expect(await counter(h.metrics, 'outrider_enrichment_lookups_total')).toEqual({ miss: 2, unidentified: 1 });
      // Asked once, remembered: the next lines of the same container cost no listing.
      const listings = proxy.methods.filter((m) => m.endsWith('/ListContainers')).length;
      await t.process([logEvent(unknownPath, 'later line')]);
      expect(proxy.methods.filter((m) => m.endsWith('/ListContainers')).length).toBe(listings);
    } finally {
      await t.stop();
    }
  });

  it('degrades while containerd is down, flags events meanwhile, and recovers when it is back', async () => {
    const h = harness();
    const link = join(tempDir('outrider-cri-link-'), 'containerd.sock');
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(ctd.socket, link);
    const t = await transform({ socket: link, log_directory: '', resync_interval: '200ms' }, h);
    try {
      expect(h.health.at(-1)).toEqual([true, undefined]);
      await ctd.stopDaemon();
      expect(await waitFor(() => h.health.at(-1)?.[0] === false, 10_000)).toBe(true);
      expect(h.health.at(-1)?.[1]).toMatch(/CRI runtime unreachable/);
      const path = podPath(ctd.podLogs, { namespace: 'team', name: 'while-down', uid: randomUUID() }, 'app');
      const [flagged] = await t.process([logEvent(path, 'while down')]);
      expect(flagged!.event.unmapped?.outrider_enrichment_missing).toMatch(/CRI runtime unreachable/);
      await ctd.startDaemon();
      expect(await waitFor(() => h.health.at(-1)?.[0] === true, 15_000)).toBe(true);
      // Connected again: a new pod's container is described.
      const pod = await ctd.runPod('after', 'team');
      const id = await short(pod, 'app');
      const [event] = await t.process([logEvent(podPath(ctd.podLogs, pod, 'app'), 'after restart')]);
      expect(event!.container?.id).toBe(id);
      expect(event!.event.metadata.labels ?? []).not.toContain('enrichment_missing');
      expect((await counter(h.metrics, 'outrider_cri_api_up')).value).toBe(1);
      await ctd.removePod(pod);
    } finally {
      await t.stop();
    }
  });
});
