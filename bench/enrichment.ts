// What container metadata enrichment costs. The same json-file lines (the shared generator's mix, spread over 50
// containers) go decode → OCSF → encode, once without and once with the docker_metadata transform in between; its
// cache is seeded from inspect documents, as the live engine would fill it. Reports both rates and the cost.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, startOutrider } from '../src/app.ts';
import type { ComponentContext, Transform } from '../src/core/component.ts';
import { type Envelope, encodeEvent } from '../src/core/envelope.ts';
import { metadataCacheOptions } from '../src/enrich/docker-config.ts';
import { DockerMetadataCache } from '../src/enrich/docker-metadata.ts';
import { type DecodedEvent, LineFlags } from '../src/formats/decoder.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { ContainerLogDecoder } from '../src/sources/container_logs/decoder.ts';
import { dockerMetadataSchema } from '../src/transforms/docker_metadata/config.ts';
import { DockerMetadataTransform } from '../src/transforms/docker_metadata/index.ts';
import type { BenchResult, BenchSuite } from './types.ts';

// Runs from dist/bench (npm run bench): the repository is two levels up, ../shared beside it.
const GENERATOR = join(import.meta.dirname, '..', '..', '..', 'shared', 'bench', 'gen-docker-logs.mjs');
const LINES = Number(process.env.BENCH_ENRICH_LINES ?? 200_000);
export const CONTAINERS = 50;
const BATCH = 512;
const ROUNDS = 5;
export const PIPELINE_ROUNDS = 2;
/** The test image (test/support/docker.ts builds it; any local image would do). */
const TEST_IMAGE = process.env.BENCH_IMAGE ?? 'outrider-test/busybox:2';

export const containerId = (i: number) => i.toString(16).padStart(2, '0').repeat(32);

/** The context of a transform component named `meta` that nothing watches, and its cache's hooks. */
export function benchContext(hostname: string) {
  const ctx: ComponentContext = {
    name: 'meta',
    logger: createLogger('error'),
    metrics: new Metrics(false),
    stateDir: tmpdir(),
    hostname,
    setHealthy: () => undefined,
  };
  const hooks = { logger: ctx.logger, metrics: ctx.metrics, component: ctx.name, onHealth: () => undefined };
  return { ctx, hooks };
}

/** A transform whose cache holds 50 containers: plain Docker ones (name, image), or Kubernetes pods (plus pod
 * identity from io.kubernetes.* labels and one app label). */
export function seededTransform(kubernetes: boolean): DockerMetadataTransform {
  const { ctx, hooks } = benchContext('bench-host');
  const config = dockerMetadataSchema.parse({ inputs: ['logs'], socket_path: '/nonexistent/docker.sock' });
  const cache = new DockerMetadataCache(metadataCacheOptions(config, false), hooks);
  for (let i = 0; i < CONTAINERS; i++) {
    cache.remember(
      {
        Id: containerId(i),
        Name: `/checkout-${i}`,
        Image: `sha256:${'ab'.repeat(32)}`,
        Config: {
          Image: 'registry.example.com/shop/checkout:2.4.1',
          Labels: kubernetes
            ? {
                'io.kubernetes.pod.name': `checkout-7d9f-${i}`,
                'io.kubernetes.pod.namespace': 'shop',
                'io.kubernetes.pod.uid': `9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b${i.toString(16).padStart(2, '0')}`,
                'io.kubernetes.container.name': 'checkout',
                'app.kubernetes.io/version': '2.4.1',
              }
            : {},
        },
      },
      {
        Id: `sha256:${'ab'.repeat(32)}`,
        RepoDigests: [`registry.example.com/shop/checkout@sha256:${'cd'.repeat(32)}`],
      },
    );
  }
  const transform = new DockerMetadataTransform(config);
  transform.useCache(cache, ctx);
  return transform;
}

/** One decoder per container of the workload: the decoder for its log file, and the container its path names. */
export type WorkloadDecoders = () => Array<{ decoder: ContainerLogDecoder }>;

/** json-file decoders of the 50 Docker containers (the path gives the container id). */
const dockerDecoders: WorkloadDecoders = () =>
  Array.from({ length: CONTAINERS }, (_, i) => {
    const container = { id: containerId(i), runtime: 'docker' as const };
    return {
      decoder: new ContainerLogDecoder(
        'docker-json',
        { source: 'logs', hostname: 'bench-host', onProblem: () => undefined },
        { maxMessageBytes: 1024 * 1024, partialTimeout: 5000, container },
      ),
    };
  });

export interface PassResult {
  rate: number;
  transformRate: number;
  cpuPerEvent: number;
}

/** One pass over the input: events/s overall, events/s of the transform step alone, and CPU µs per event (this
 * process's, user + system: steadier than wall time on a shared machine). */
async function pass(
  lines: string[],
  transform: Transform | undefined,
  workload: WorkloadDecoders = dockerDecoders,
): Promise<PassResult> {
  const decoders = workload();
  let bytes = 0;
  let inTransform = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const out: DecodedEvent[] = [];
  for (let start = 0; start < lines.length; start += BATCH) {
    out.length = 0;
    const end = Math.min(lines.length, start + BATCH);
    for (let i = start; i < end; i++)
      decoders[i % CONTAINERS]!.decoder.push(lines[i]!, { start: 0, flags: LineFlags.None }, out);
    let batch: Envelope[] = out.map((d) => ({ event: d.event, source: 'logs', raw: d.raw, container: d.container! }));
    if (transform) {
      const t = performance.now();
      batch = await transform.process(batch);
      inTransform += performance.now() - t;
    }
    for (const e of batch) bytes += encodeEvent(e).length;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (bytes === 0) throw new Error('nothing encoded');
  return {
    rate: lines.length / seconds,
    transformRate: lines.length / (inTransform / 1000),
    cpuPerEvent: (used.user + used.system) / lines.length,
  };
}

/** The best of each measure over rounds: the highest rates, the lowest CPU per event (the least disturbed). */
export function best<T extends { rate: number; cpuPerEvent: number; transformRate?: number }>(runs: T[]): T {
  return {
    ...runs[0]!,
    rate: Math.max(...runs.map((r) => r.rate)),
    cpuPerEvent: Math.min(...runs.map((r) => r.cpuPerEvent)),
    ...(runs[0]!.transformRate !== undefined ? { transformRate: Math.max(...runs.map((r) => r.transformRate!)) } : {}),
  };
}

/** Passes without and with `transform`, alternated so that both see the same warm-up and machine noise: each one's
 * best of ROUNDS. */
export async function alternatePasses(
  lines: string[],
  transform: Transform,
  workload: WorkloadDecoders = dockerDecoders,
): Promise<{ plain: PassResult; enriched: PassResult }> {
  const plain: PassResult[] = [];
  const enriched: PassResult[] = [];
  await pass(lines.slice(0, 20_000), undefined, workload);
  await pass(lines.slice(0, 20_000), transform, workload);
  for (let r = 0; r < ROUNDS; r++) {
    plain.push(await pass(lines, undefined, workload));
    enriched.push(await pass(lines, transform, workload));
  }
  return { plain: best(plain), enriched: best(enriched) };
}

/** The shared generator's lines (its mix, seed 42) in `dir/input.log`. */
export function generatedInput(dir: string): { file: string; lines: string[] } {
  if (!existsSync(GENERATOR)) throw new Error(`${GENERATOR} not found: the benchmark needs ../shared/bench`);
  const file = join(dir, 'input.log');
  execFileSync(process.execPath, [GENERATOR, String(LINES), file, '--seed', '42']);
  return { file, lines: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

/** The real pipeline (tail → [docker_metadata] → file sink with fsync) on a copy of the input placed where Docker
 * keeps the json-file log of a real (created, never started) container, so the transform finds it in its cache
 * through the live engine. Returns events/s from start to the last event acknowledged by the sink. */
async function pipelinePass(input: string, containerId: string, enrich: boolean, lines: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'outrider-bench-enrich-run-'));
  try {
    const logDir = join(dir, 'containers', containerId);
    mkdirSync(logDir, { recursive: true });
    copyFileSync(input, join(logDir, `${containerId}-json.log`));
    const source = { type: 'container_logs', include: [join(dir, 'containers', '*', '*-json.log')] };
    return (await runPipeline(dir, source, enrich ? { type: 'docker_metadata' } : undefined, lines)).rate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs tail → [transform] → file sink (fsync) in `dir` until the sink has acknowledged `lines` events: events/s, and
 * the process's CPU µs per event (every thread: decode workers included). */
export async function runPipeline(
  dir: string,
  source: Record<string, unknown>,
  transform: Record<string, unknown> | undefined,
  lines: number,
): Promise<{ rate: number; cpuPerEvent: number }> {
  const config = join(dir, 'outrider.yaml');
  writeFileSync(
    config,
    stringify({
      data_dir: join(dir, 'data'),
      log: { level: 'error' },
      admin: { enabled: false },
      sources: { logs: source },
      transforms: transform ? { meta: { ...transform, inputs: ['logs'] } } : {},
      sinks: {
        archive: {
          type: 'file',
          inputs: [transform ? 'meta' : 'logs'],
          path: join(dir, 'out', 'events.ndjson'),
          rotate: { max_bytes: '10GiB' },
        },
      },
    }),
  );
  const started = performance.now();
  const cpu = process.cpuUsage();
  const running = await startOutrider(loadConfig(config), createLogger('error'));
  try {
    for (;;) {
      const values = (await running.metrics.eventsEmitted.get()).values;
      if ((values.find((v) => v.labels.component === 'archive')?.value ?? 0) >= lines) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const used = process.cpuUsage(cpu);
    return { rate: lines / ((performance.now() - started) / 1000), cpuPerEvent: (used.user + used.system) / lines };
  } finally {
    await running.stop();
  }
}

async function dockerAvailable(): Promise<boolean> {
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'enrichment',
    async run(): Promise<BenchResult[]> {
      const dir = mkdtempSync(join(tmpdir(), 'outrider-bench-enrich-'));
      try {
        const { file, lines } = generatedInput(dir);
        const results: BenchResult[] = [];
        for (const kubernetes of [false, true]) {
          const what = kubernetes ? 'Kubernetes pods' : 'Docker containers';
          const runs = await alternatePasses(lines, seededTransform(kubernetes));
          const plain = runs.plain.rate;
          const enriched = runs.enriched.rate;
          const step = runs.enriched.transformRate;
          results.push(
            { name: `${what}: decode → OCSF → JSON, no enrichment`, value: Math.round(plain), unit: 'events/s' },
            { name: `${what}: decode → OCSF → docker_metadata → JSON`, value: Math.round(enriched), unit: 'events/s' },
            { name: `${what}: docker_metadata step alone`, value: Math.round(step), unit: 'events/s' },
            { name: `${what}: cost of lookup + attach`, value: (plain / step) * 100, unit: '% of throughput' },
            {
              name: `${what}: cost incl. encoding the added fields`,
              value: (1 - enriched / plain) * 100,
              unit: '% of throughput',
            },
          );
        }
        if (!(await dockerAvailable())) {
          process.stderr.write('enrichment: no docker engine; the full-pipeline measurement is skipped\n');
          return results;
        }
        // A container Docker knows (created, never started) whose log the pipeline tails from a copy.
        const containerId = execFileSync(
          'docker',
          ['create', '--label', 'app.kubernetes.io/name=bench', TEST_IMAGE, 'true'],
          {
            encoding: 'utf8',
          },
        ).trim();
        try {
          let plain = 0;
          let enriched = 0;
          for (let r = 0; r < PIPELINE_ROUNDS; r++) {
            plain = Math.max(plain, await pipelinePass(file, containerId, false, lines.length));
            enriched = Math.max(enriched, await pipelinePass(file, containerId, true, lines.length));
          }
          results.push(
            { name: 'pipeline tail → file (fsync), no enrichment', value: Math.round(plain), unit: 'events/s' },
            { name: 'pipeline tail → docker_metadata → file (fsync)', value: Math.round(enriched), unit: 'events/s' },
            { name: 'pipeline: enrichment cost', value: (1 - enriched / plain) * 100, unit: '% of throughput' },
          );
        } finally {
          execFileSync('docker', ['rm', '-f', containerId], { stdio: 'ignore' });
        }
        return results;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
