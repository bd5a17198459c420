// The docker_metadata transform in the real pipeline (container_logs → docker_metadata → file sink) against the real
// engine, reached through a recording Unix-socket proxy that proves Outrider only reads from the Docker API; and a
// container that came and went before Outrider started, described from the engine events of the minute before.
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentContext } from '../../src/core/component.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { mapContainerLine } from '../../src/ocsf/mappers/container-log.ts';
import { dockerMetadataSchema } from '../../src/transforms/docker_metadata/config.ts';
import { DockerMetadataTransform } from '../../src/transforms/docker_metadata/index.ts';
import { docker, ensureTestImage, TEST_IMAGE } from '../support/docker.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary OCSF JSON.
type Json = Record<string, any>;

/** Forwards a Unix socket to dockerd and records the request line of every HTTP request that passes. */
class RecordingDockerProxy {
  readonly requests: Array<{ method: string; path: string }> = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly target = '/var/run/docker.sock',
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.target);
      this.sockets.add(client).add(upstream);
      let head = '';
      client.on('data', (chunk: Buffer) => {
        // Request lines start a line; keep-alive connections carry several requests (GET bodies are empty).
        head = (head + chunk.toString('latin1')).slice(-8192);
        for (const m of head.matchAll(/(?:^|\r\n)([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/g))
          this.requests.push({ method: m[1]!, path: m[2]! });
        head = head.slice(head.lastIndexOf('\r\n') + 2);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => client.write(chunk));
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Engine API paths Outrider may use, all read-only, optionally behind a /vX.Y version prefix. */
const READ_ONLY_PATHS = [
  /^\/_ping$/,
  /^\/version$/,
  /^\/info$/,
  /^\/events(\?.*)?$/,
  /^\/containers\/json(\?.*)?$/,
  /^\/containers\/[0-9a-f]{64}\/json(\?.*)?$/,
  // An image by id, or by the reference a container was created with (names hold slashes).
  /^\/images\/[^?]+\/json(\?.*)?$/,
];

const ok = await requireComponents('docker', 'root');

describe.skipIf(!ok)('docker_metadata transform on the real engine', () => {
  let dir = '';
  let proxy: RecordingDockerProxy;
  let outrider: TestOutrider | undefined;
  let image = '';
  let outFile = '';
  const containers: string[] = [];

  beforeAll(async () => {
    image = await ensureTestImage();
    dir = tempDir('outrider-enrich-');
    proxy = new RecordingDockerProxy(join(dir, 'docker.sock'));
    await proxy.start();
    outFile = join(dir, 'out.ndjson');
    outrider = await startTestOutrider(
      {
        sources: {
          logs: {
            type: 'container_logs',
            include: ['/var/lib/docker/containers/*/*-json.log'],
            read_from: 'end',
            poll_interval: '50ms',
            glob_interval: '200ms',
          },
          engine: { type: 'docker_events', socket_path: proxy.path },
        },
        transforms: {
          meta: {
            type: 'docker_metadata',
            inputs: ['logs'],
            socket_path: proxy.path,
            labels: { prefixes: ['io.kubernetes.', 'outrider.test.'] },
          },
        },
        sinks: {
          out: { type: 'file', path: outFile, inputs: ['meta', 'engine'], batch: { timeout: '50ms' }, fsync: false },
        },
      },
      join(dir, 'data'),
      'info',
    );
  });

  afterAll(async () => {
    await outrider?.stop();
    await proxy?.stop();
    for (const id of containers) await docker('rm', '-f', id).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `docker run --rm` that prints `lines` and exits at once; returns the container id. */
  async function runShortLived(labels: Record<string, string>, lines: string[]): Promise<string> {
    const cidfile = join(dir, `${randomUUID()}.cid`);
    const args = ['run', '--rm', '--cidfile', cidfile];
    for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
    const started = Date.now();
    await docker(...args, image, 'sh', '-c', lines.map((l) => `echo ${l}`).join('; '));
    const id = readFileSync(cidfile, 'utf8').trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // The container itself ran for well under a second; `docker run` adds engine start-up time around it.
    expect(Date.now() - started).toBeLessThan(15_000);
    return id;
  }

  function linesOf(id: string): Json[] {
    return readNdjson<Json>(outFile).filter(
      (e) => e.metadata.log_provider === 'docker json-file' && e.device?.container?.uid === id,
    );
  }

  it('enriches every line of a `docker run --rm` container that exits at once', async () => {
    const tag = randomUUID().slice(0, 8);
    const lines = Array.from({ length: 6 }, (_, i) => `short-${tag}-${i}`);
    const id = await runShortLived({ 'outrider.test.case': 'short-lived', 'secret.token': 'do-not-copy' }, lines);
    expect(await waitFor(() => linesOf(id).length >= lines.length, 20_000)).toBe(true);
    const events = linesOf(id);
    expect(events.map((e) => e.message)).toEqual(lines);
    // The engine's own account (docker_events source in the same pipeline): it lived well under a second.
    const engine = () => readNdjson<Json>(outFile).filter((e) => e.unmapped?.docker?.actor_id === id);
    const at = (action: string) => engine().find((e) => e.unmapped.docker.action === action)?.time as number;
    expect(await waitFor(() => at('start') !== undefined && at('die') !== undefined, 10_000)).toBe(true);
    expect(at('die') - at('start')).toBeLessThan(1000);
    const imageId = await docker('image', 'inspect', '-f', '{{.Id}}', image);
    for (const e of events) {
      const c = e.device.container;
      expect(c.name).toMatch(/^[a-z]+_[a-z]+$/);
      expect(c.image).toEqual({
        uid: imageId,
        name: 'outrider-test/busybox',
        tags: [{ name: 'tag', value: TEST_IMAGE.split(':')[1]! }],
      });
      expect(c.runtime).toBe('docker');
      // Allow-listed labels only: a label outside the list (which might hold a secret) is not copied.
      expect(c.labels).toEqual(['outrider.test.case=short-lived']);
      expect(e.metadata.profiles).toEqual(expect.arrayContaining(['host', 'container']));
      expect(e.metadata.labels ?? []).not.toContain('enrichment_missing');
    }
    const result = validateOcsf(recordOutput('enrich/short-lived-container', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('takes Kubernetes identity from io.kubernetes.* labels', async () => {
    const podUid = randomUUID();
    const tag = randomUUID().slice(0, 8);
    const id = await runShortLived(
      {
        'io.kubernetes.pod.name': 'checkout-7d9f-abcde',
        'io.kubernetes.pod.namespace': 'shop',
        'io.kubernetes.pod.uid': podUid,
        'io.kubernetes.container.name': 'checkout',
      },
      [`k8s-${tag}-a`, `k8s-${tag}-b`],
    );
    expect(await waitFor(() => linesOf(id).length >= 2, 20_000)).toBe(true);
    const events = linesOf(id);
    for (const e of events) {
      const c = e.device.container;
      expect(c.orchestrator).toBe('Kubernetes');
      expect(c.pod_uuid).toBe(podUid);
      expect(c.tags).toEqual(
        expect.arrayContaining([
          { name: 'k8s.namespace.name', value: 'shop' },
          { name: 'k8s.pod.name', value: 'checkout-7d9f-abcde' },
          { name: 'k8s.container.name', value: 'checkout' },
          { name: 'k8s.pod.uid', value: podUid },
        ]),
      );
    }
    const result = validateOcsf(recordOutput('enrich/k8s-labelled-container', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('used the Docker API read-only: every request a GET on an allow-listed path', async () => {
    // Something must have passed through the proxy for the proof to mean anything.
    const paths = proxy.requests.map((r) => r.path.replace(/^\/v\d+\.\d+/, ''));
    expect(paths.some((p) => p.startsWith('/events'))).toBe(true);
    expect(paths.some((p) => /^\/containers\/[0-9a-f]{64}\/json/.test(p))).toBe(true);
    const offending = proxy.requests.filter(
      (r, i) => !['GET', 'HEAD'].includes(r.method) || !READ_ONLY_PATHS.some((re) => re.test(paths[i]!)),
    );
    expect(offending).toEqual([]);
  });
});

describe('docker_metadata transform without an engine', () => {
  it('forwards every event, flagged, and reports itself degraded', async () => {
    const health: Array<[boolean, string | undefined]> = [];
    const metrics = new Metrics(false);
    // As the pipeline does: every series of the component carries its kind and type.
    metrics.registerComponent('meta', 'transform', 'docker_metadata');
    const ctx: ComponentContext = {
      name: 'meta',
      logger: createLogger('error'),
      metrics,
      stateDir: tempDir(),
      hostname: 'host-a',
      setHealthy: (healthy, reason) => health.push([healthy, reason]),
    };
    const config = dockerMetadataSchema.parse({
      inputs: ['logs'],
      socket_path: join(tempDir(), 'no-docker-here.sock'),
      request_timeout: '200ms',
      reconnect: { initial_backoff: '50ms', max_backoff: '200ms' },
    });
    const transform = new DockerMetadataTransform(config);
    await transform.start(ctx);
    try {
      const id = 'c'.repeat(64);
      const envelopes: Envelope[] = [1, 2, 3].map((i) => ({
        event: mapContainerLine({
          format: 'docker-json',
          message: `line ${i}`,
          time: Date.now(),
          raw: `{"log":"line ${i}\\n"}`,
          container: { id, runtime: 'docker' },
          hostname: 'host-a',
        }).event,
        source: 'logs',
        raw: `line ${i}`,
        container: { id, runtime: 'docker' },
      }));
      const out = await transform.process(envelopes);
      expect(out).toHaveLength(3);
      for (const e of out) {
        expect(e.container?.enrichmentMissing).toBe(true);
        expect(e.event.metadata.labels).toContain('enrichment_missing');
        expect((e.event.device as Json).container.uid).toBe(id);
      }
      expect(health.at(-1)?.[0]).toBe(false);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(
        /outrider_enrichment_lookups_total\{component="meta",result="unavailable",component_kind="[a-z]+",component_type="\w+"\} 3/,
      );
      expect(text).toMatch(/outrider_docker_api_up\{component="meta",component_kind="[a-z]+",component_type="\w+"\} 0/);
      const result = validateOcsf(
        recordOutput(
          'enrich/engine-unreachable',
          out.map((e) => e.event),
        ),
      );
      if (result) expect(result.failed, result.output).toBe(0);
    } finally {
      await transform.stop();
    }
  });
});

describe.skipIf(!ok)('docker_metadata started after a container came and went', () => {
  const dir = tempDir('outrider-replay-');
  let outrider: TestOutrider | undefined;

  afterAll(async () => {
    await outrider?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('describes the lines of a `--rm` container removed before it started, from the events of the minute before', async () => {
    const image = await ensureTestImage();
    const tag = randomUUID().slice(0, 8);
    const lines = Array.from({ length: 3 }, (_, i) => `gone-${tag}-${i}`);
    const id = await docker(
      'run',
      '-d',
      '--rm',
      '--label',
      'outrider.test.case=gone',
      image,
      'sh',
      '-c',
      `${lines.map((l) => `echo ${l}`).join('; ')}; sleep 2`,
    );
    // Its log file, copied before the engine removes the container with it: read later, as a log shipper behind on
    // a busy node reads a file it opened before the container went.
    const source = `/var/lib/docker/containers/${id}/${id}-json.log`;
    const written = () => existsSync(source) && readFileSync(source, 'utf8').split('\n').length > lines.length;
    expect(await waitFor(written, 15_000)).toBe(true);
    const log = join(dir, 'containers', id, `${id}-json.log`);
    mkdirSync(join(log, '..'), { recursive: true });
    copyFileSync(source, log);
    expect(
      await waitFor(
        () =>
          docker('inspect', id).then(
            () => false,
            () => true,
          ),
        15_000,
      ),
    ).toBe(true);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(lines.length);

    const out = join(dir, 'out.ndjson');
    outrider = await startTestOutrider(
      {
        sources: { logs: { type: 'container_logs', include: [join(dir, 'containers', '*', '*-json.log')] } },
        transforms: {
          meta: { type: 'docker_metadata', inputs: ['logs'], labels: { prefixes: ['outrider.test.'] } },
        },
        sinks: { out: { type: 'file', path: out, inputs: ['meta'], batch: { timeout: '50ms' } } },
      },
      join(dir, 'data'),
    );
    expect(await waitFor(() => readNdjson<Json>(out).length >= lines.length, 20_000)).toBe(true);
    const events = readNdjson<Json>(out);
    expect(events.map((e) => e.message)).toEqual(lines);
    const imageId = await docker('image', 'inspect', '-f', '{{.Id}}', image);
    for (const e of events) {
      expect(e.metadata.labels ?? []).not.toContain('enrichment_missing');
      expect(e.device.container).toMatchObject({
        uid: id,
        name: expect.stringMatching(/^[a-z]+_[a-z]+$/),
        runtime: 'docker',
        image: {
          uid: imageId,
          name: 'outrider-test/busybox',
          tags: [{ name: 'tag', value: TEST_IMAGE.split(':')[1]! }],
        },
        labels: ['outrider.test.case=gone'],
      });
    }
    const result = validateOcsf(recordOutput('enrich/container-gone-before-start', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});
