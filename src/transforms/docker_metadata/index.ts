// Fills every event that names a container (envelope.container.id, e.g. from a json-file log path) with what Docker
// knows of it: name, image (id, name, tag, digest), allow-listed labels, Kubernetes identity, placed where OCSF 1.8
// puts containers. Metadata comes from a cache kept fresh by the engine's /events stream: no API call per event.

import { sleep } from '../../core/backoff.ts';
import type { ComponentContext, Transform, TransformFactory } from '../../core/component.ts';
import { type ContainerRef, EncodedEnvelope, type Envelope } from '../../core/envelope.ts';
import { metadataCacheOptions } from '../../enrich/docker-config.ts';
import { type ContainerMetadata, DockerMetadataCache } from '../../enrich/docker-metadata.ts';
import {
  attachContainer,
  containerObject,
  flagEnrichmentMissing,
  sharedContainerObject,
} from '../../ocsf/mappers/container.ts';
import { type DockerMetadataConfig, dockerMetadataSchema } from './config.ts';

const REMOVED_BEFORE_INSPECT = 'container removed before it could be inspected (described from its engine events only)';

type LookupResult = 'hit' | 'tombstone' | 'miss' | 'unavailable';

export class DockerMetadataTransform implements Transform {
  private cache: DockerMetadataCache | undefined;
  private ctx: ComponentContext | undefined;

  constructor(private readonly config: DockerMetadataConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    this.ctx = ctx;
    this.cache = new DockerMetadataCache(metadataCacheOptions(this.config, true), {
      logger: ctx.logger,
      metrics: ctx.metrics,
      component: ctx.name,
      onHealth: (healthy, reason) => ctx.setHealthy(healthy, healthy ? undefined : reason),
      ...(ctx.runningContainers ? { running: ctx.runningContainers.feed('docker') } : {}),
    });
    await this.cache.start();
    if (!this.cache.available) ctx.setHealthy(false, 'docker engine unreachable; enrichment degraded');
  }

  /** Uses an existing cache (benchmarks and tests that seed it without an engine). */
  useCache(cache: DockerMetadataCache, ctx: ComponentContext): void {
    this.cache = cache;
    this.ctx = ctx;
  }

  async stop(): Promise<void> {
    await this.cache?.stop();
  }

  process(events: Envelope[]): Envelope[] | Promise<Envelope[]> {
    const cache = this.cache!;
    const now = Date.now();
    const counts: Record<LookupResult, number> = { hit: 0, tombstone: 0, miss: 0, unavailable: 0 };
    let waiting: Envelope[] | undefined;
    for (const envelope of events) {
      const id = envelope.container?.id;
      if (id === undefined) continue;
      const entry = cache.entry(id, now);
      if (entry?.inspected) {
        counts[entry.removedAt === undefined ? 'hit' : 'tombstone']++;
        this.apply(envelope, entry);
      } else if (entry && cache.isUnknown(id)) {
        counts.miss++;
        this.apply(envelope, entry);
        this.missing(envelope, REMOVED_BEFORE_INSPECT);
      } else if (!cache.available) {
        counts.unavailable++;
        if (entry) this.apply(envelope, entry);
        this.missing(envelope, 'docker engine unreachable');
      } else {
        waiting ??= [];
        waiting.push(envelope);
      }
    }
    if (!waiting) {
      this.count(counts);
      return events;
    }
    return this.finish(events, waiting, counts);
  }

  /** Events of containers not yet described: wait (bounded) for their first inspect, then apply what is known. */
  private async finish(
    events: Envelope[],
    waiting: Envelope[],
    counts: Record<LookupResult, number>,
  ): Promise<Envelope[]> {
    const cache = this.cache!;
    const ids = new Set(waiting.map((e) => e.container!.id!));
    await Promise.race([Promise.all([...ids].map((id) => cache.resolve(id))), sleep(this.config.max_wait)]);
    for (const envelope of waiting) {
      const entry = cache.entry(envelope.container!.id!);
      if (entry?.inspected) {
        counts[entry.removedAt === undefined ? 'hit' : 'tombstone']++;
        this.apply(envelope, entry);
        continue;
      }
      counts[cache.available ? 'miss' : 'unavailable']++;
      if (entry) this.apply(envelope, entry);
      this.missing(
        envelope,
        !cache.available
          ? 'docker engine unreachable'
          : entry
            ? REMOVED_BEFORE_INSPECT
            : 'container unknown to the docker engine',
      );
    }
    this.count(counts);
    return events;
  }

  private apply(envelope: Envelope, entry: ContainerMetadata): void {
    const fromPath = envelope.container;
    let ref = entry.ref;
    let ocsf = entry.ocsf;
    // Kubernetes identity from a CRI log path fills what labels did not say (rare: the shared object otherwise).
    if (fromPath?.k8s && !ref.k8s) {
      ref = { ...ref, k8s: fromPath.k8s };
      ocsf = containerObject(ref);
    }
    // An event from a decode worker holds the path's bare container: its JSON is swapped without decoding it.
    const bare = fromPath && sharedContainerObject(fromPath);
    if (ocsf && bare && envelope instanceof EncodedEnvelope && envelope.swapContainer(bare, ocsf)) {
      envelope.container = ref;
      return;
    }
    envelope.container = ref;
    if (ocsf) attachContainer(envelope.event, ocsf, this.ctx!.hostname);
    envelope.encoded = undefined;
  }

  private missing(envelope: Envelope, reason: string): void {
    const ref: ContainerRef = { ...envelope.container, enrichmentMissing: true };
    envelope.container = ref;
    const ocsf = containerObject(ref);
    if (ocsf) attachContainer(envelope.event, ocsf, this.ctx!.hostname);
    flagEnrichmentMissing(envelope.event, reason);
    envelope.encoded = undefined;
  }

  private count(counts: Record<LookupResult, number>): void {
    const { metrics, name } = this.ctx!;
    for (const result of ['hit', 'tombstone', 'miss', 'unavailable'] as const)
      if (counts[result] > 0) metrics.enrichmentLookups.inc({ component: name, result }, counts[result]);
  }
}

export const dockerMetadataFactory: TransformFactory<DockerMetadataConfig> = {
  kind: 'transform',
  type: 'docker_metadata',
  description:
    'Adds Docker container metadata (name, image, labels, Kubernetes identity) to every event that names a container, from a cache kept fresh by the engine’s event stream.',
  configSchema: dockerMetadataSchema,
  create: (config) => new DockerMetadataTransform(config),
};
