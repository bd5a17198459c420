// Fills every event of a Kubernetes pod's container — lines of its CRI log file, auditd records of its processes —
// with what the node's container runtime (containerd, CRI-O) knows over its CRI socket: container id and name, image
// (name, tag, digest), pod namespace, name and UID, allow-listed pod labels and annotations, node name. Metadata is
// taken when the container's log file appears and kept after the pod is removed; no runtime call per event.
import type { ComponentContext, Transform, TransformFactory } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { ContainerEnricher } from '../../enrich/container-enricher.ts';
import { type CriContainerMetadata, CriMetadataCache } from '../../enrich/cri-metadata.ts';
import { type CriMetadataConfig, criCacheOptions, criMetadataSchema } from './config.ts';

const REASONS = {
  removedBeforeDescribed: 'container removed before the CRI runtime could describe it',
  unknown: 'container unknown to the CRI runtime (removed before Outrider listed it, or never created by it)',
};

export class CriMetadataTransform implements Transform {
  private cache: CriMetadataCache | undefined;
  private enricher: ContainerEnricher<CriContainerMetadata> | undefined;

  constructor(private readonly config: CriMetadataConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    const cache = new CriMetadataCache(criCacheOptions(this.config), {
      logger: ctx.logger,
      metrics: ctx.metrics,
      component: ctx.name,
      onHealth: (healthy, reason) => ctx.setHealthy(healthy, healthy ? undefined : reason),
    });
    this.useCache(cache, ctx);
    await cache.start();
    if (!cache.available) ctx.setHealthy(false, cache.unavailableReason);
  }

  /** Uses an existing cache (benchmarks that seed it without a runtime). */
  useCache(cache: CriMetadataCache, ctx: ComponentContext): void {
    this.cache = cache;
    this.enricher = new ContainerEnricher(cache, REASONS, ctx, this.config.max_wait);
  }

  async stop(): Promise<void> {
    await this.cache?.stop();
  }

  process(events: Envelope[]): Envelope[] | Promise<Envelope[]> {
    return this.enricher!.process(events);
  }
}

export const criMetadataFactory: TransformFactory<CriMetadataConfig> = {
  kind: 'transform',
  type: 'cri_metadata',
  description:
    'Adds Kubernetes pod and container metadata (image, digest, pod identity, labels, node) from the node’s container runtime (containerd, CRI-O) over its CRI socket to container log lines and audited processes of pods.',
  configSchema: criMetadataSchema,
  create: (config) => new CriMetadataTransform(config),
};
