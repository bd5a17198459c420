// What cri_metadata costs. The shared generator's lines as CRI log records of 50 pods (kubelet's
// /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log paths) go decode → OCSF → encode, without and with the transform
// (its cache seeded as ListContainers/ContainerStatus answers fill it); then the real pipeline (tail → [cri_metadata]
// → file sink, fsync) on the same lines, the transform asking a CRI server on a Unix socket (a stand-in answering the
// five read-only RPCs for one pod: the runtime is asked once per container, never per event).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type CriContainer, type CriPodSandbox, criRuntimeService } from '../src/enrich/cri-client.ts';
import { CriMetadataCache } from '../src/enrich/cri-metadata.ts';
import { ContainerLogDecoder } from '../src/sources/container_logs/decoder.ts';
import { containerFromPath } from '../src/sources/container_logs/path-meta.ts';
import { criCacheOptions, criMetadataSchema } from '../src/transforms/cri_metadata/config.ts';
import { CriMetadataTransform } from '../src/transforms/cri_metadata/index.ts';
import {
  alternatePasses,
  benchContext,
  best,
  CONTAINERS,
  containerId,
  generatedInput,
  PIPELINE_ROUNDS,
  runPipeline,
  type WorkloadDecoders,
} from './enrichment.ts';
import type { BenchResult, BenchSuite } from './types.ts';

const podUid = (i: number) => `9b2f4c1e-8a7d-4e3b-b5c6-1d2e3f4a5b${i.toString(16).padStart(2, '0')}`;
const podName = (i: number) => `checkout-7d9f-${i}`;
export const podLog = (root: string, i: number) => join(root, `shop_${podName(i)}_${podUid(i)}`, 'checkout', '0.log');

/** Pod i's sandbox and its container as the runtime answers for them (a registry image, app labels). */
function podOf(i: number): { sandbox: CriPodSandbox; container: CriContainer } {
  return {
    sandbox: {
      id: `${'5a'.repeat(31)}${i.toString(16).padStart(2, '0')}`,
      metadata: { name: podName(i), uid: podUid(i), namespace: 'shop', attempt: 0 },
      labels: { app: 'checkout', 'app.kubernetes.io/version': '2.4.1', 'pod-template-hash': '7d9f' },
      annotations: { 'kubernetes.io/config.source': 'api' },
    },
    container: {
      id: containerId(i),
      pod_sandbox_id: `${'5a'.repeat(31)}${i.toString(16).padStart(2, '0')}`,
      metadata: { name: 'checkout', attempt: 0 },
      image: { image: 'registry.example.com/shop/checkout:2.4.1', user_specified_image: '' },
      image_ref: `registry.example.com/shop/checkout@sha256:${'cd'.repeat(32)}`,
      labels: {},
      annotations: {},
    },
  };
}

/** A cri_metadata transform whose cache holds the 50 pods' containers. */
export function seededCriTransform(): CriMetadataTransform {
  const { ctx, hooks } = benchContext('bench-node');
  const config = criMetadataSchema.parse({ inputs: ['logs'], socket: '/nonexistent/cri.sock', node_name: 'node-1' });
  const cache = new CriMetadataCache(criCacheOptions(config), hooks);
  for (let i = 0; i < CONTAINERS; i++) {
    const { sandbox, container } = podOf(i);
    cache.remember(container, sandbox);
  }
  const transform = new CriMetadataTransform(config);
  transform.useCache(cache, ctx);
  return transform;
}

const criDecoders: WorkloadDecoders = () =>
  Array.from({ length: CONTAINERS }, (_, i) => ({
    decoder: new ContainerLogDecoder(
      'cri',
      { source: 'logs', hostname: 'bench-node', onProblem: () => undefined },
      { maxMessageBytes: 1024 * 1024, partialTimeout: 5000, container: containerFromPath(podLog('/var/log/pods', i)) },
    ),
  }));

/** json-file records → CRI records (`<time> <stream> F <line>`), as containerd would have written them. */
function toCri(jsonLines: string[]): string[] {
  return jsonLines.map((l) => {
    const r = JSON.parse(l) as { log: string; stream: string; time: string };
    return `${r.time} ${r.stream} F ${r.log.endsWith('\n') ? r.log.slice(0, -1) : r.log}`;
  });
}

/** A CRI runtime stand-in answering the five read-only RPCs for pod 0. */
async function startCriServer(socket: string): Promise<grpc.Server> {
  const { sandbox, container } = podOf(0);
  const server = new grpc.Server();
  const answer = (value: object) => (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, value);
  server.addService(criRuntimeService().service, {
    Version: answer({
      version: '0.1.0',
      runtime_name: 'containerd',
      runtime_version: '1.6.20',
      runtime_api_version: 'v1',
    }),
    ListPodSandbox: answer({ items: [sandbox] }),
    PodSandboxStatus: answer({ status: sandbox }),
    ListContainers: answer({ containers: [container] }),
    ContainerStatus: answer({ status: container }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return server;
}

async function criPipelinePass(
  criLines: string,
  enrich: boolean,
  lines: number,
): Promise<{ rate: number; cpuPerEvent: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'outrider-bench-cri-run-'));
  const server = enrich ? await startCriServer(join(dir, 'cri.sock')) : undefined;
  try {
    const pods = join(dir, 'pods');
    mkdirSync(join(podLog(pods, 0), '..'), { recursive: true });
    writeFileSync(podLog(pods, 0), criLines);
    const source = { type: 'container_logs', format: 'cri', include: [join(pods, '*', '*', '*.log')] };
    const transform = { type: 'cri_metadata', socket: join(dir, 'cri.sock'), log_directory: pods, node_name: 'node-1' };
    return await runPipeline(dir, source, enrich ? transform : undefined, lines);
  } finally {
    server?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'cri-enrichment',
    async run(): Promise<BenchResult[]> {
      const dir = mkdtempSync(join(tmpdir(), 'outrider-bench-cri-'));
      try {
        const lines = toCri(generatedInput(dir).lines);
        const { plain: p, enriched: e } = await alternatePasses(lines, seededCriTransform(), criDecoders);
        const step = e.transformRate;
        const results: BenchResult[] = [
          { name: 'CRI pods: decode → OCSF → JSON, no enrichment', value: Math.round(p.rate), unit: 'events/s' },
          { name: 'CRI pods: decode → OCSF → cri_metadata → JSON', value: Math.round(e.rate), unit: 'events/s' },
          { name: 'CRI pods: no enrichment, CPU', value: p.cpuPerEvent, unit: 'cpu-µs/event' },
          { name: 'CRI pods: with cri_metadata, CPU', value: e.cpuPerEvent, unit: 'cpu-µs/event' },
          { name: 'CRI pods: cri_metadata step alone', value: Math.round(step), unit: 'events/s' },
          { name: 'CRI pods: cost of lookup + attach', value: (p.rate / step) * 100, unit: '% of throughput' },
          {
            name: 'CRI pods: cost incl. encoding the added fields (CPU per event)',
            value: (1 - p.cpuPerEvent / e.cpuPerEvent) * 100,
            unit: '% of throughput',
          },
        ];
        const criText = `${lines.join('\n')}\n`;
        const plainRuns: Array<{ rate: number; cpuPerEvent: number }> = [];
        const enrichedRuns: typeof plainRuns = [];
        for (let r = 0; r < PIPELINE_ROUNDS + 1; r++) {
          plainRuns.push(await criPipelinePass(criText, false, lines.length));
          enrichedRuns.push(await criPipelinePass(criText, true, lines.length));
        }
        const pp = best(plainRuns);
        const pe = best(enrichedRuns);
        results.push(
          { name: 'pipeline tail (CRI) → file (fsync), no enrichment', value: Math.round(pp.rate), unit: 'events/s' },
          { name: 'pipeline tail (CRI) → cri_metadata → file (fsync)', value: Math.round(pe.rate), unit: 'events/s' },
          { name: 'pipeline, no enrichment, CPU (all threads)', value: pp.cpuPerEvent, unit: 'cpu-µs/event' },
          { name: 'pipeline with cri_metadata, CPU (all threads)', value: pe.cpuPerEvent, unit: 'cpu-µs/event' },
          {
            name: 'pipeline: cri_metadata cost (events/s)',
            value: (1 - pe.rate / pp.rate) * 100,
            unit: '% of throughput',
          },
          {
            name: 'pipeline: cri_metadata cost (CPU per event)',
            value: (1 - pp.cpuPerEvent / pe.cpuPerEvent) * 100,
            unit: '% of throughput',
          },
        );
        return results;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
