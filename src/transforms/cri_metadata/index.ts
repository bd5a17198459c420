// Fills every event of a Kubernetes pod's container — lines of its CRI log file, auditd records of its processes —
// with what the node's container runtime (containerd, CRI-O) knows over its CRI socket: container id and name, image
// (name, tag, digest), pod namespace, name and UID, allow-listed pod labels and annotations, node name. Metadata is
// taken when the container's log file appears and kept after the pod is removed; no runtime call per event.
import type { ComponentContext, Transform, TransformFactory } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { ContainerEnricher } from '../../enrich/container-enricher.ts';
import { type CriContainerMetadata, CriMetadataCache } from '../../enrich/cri-metadata.ts';
import { type CriMetadataConfig, criMetadataSchema } from './config.ts';

const REASONS = {
  removedBeforeDescribed: 'container removed before the CRI runtime could describe it',
  unknown: 'container unknown to the CRI runtime (removed before Outrider listed it, or never created by it)',
};

export class CriMetadataTransform implements Transform {
  private cache: CriMetadataCache | undefined;
  private enricher: ContainerEnricher<CriContainerMetadata> | undefined;

  constructor(private readonly config: CriMetadataConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    const c = this.config;
    const node = c.node_name ?? (process.env.NODE_NAME || undefined);
    const cache = new CriMetadataCache(
      {
        socket: c.socket,
        requestTimeoutMs: c.request_timeout,
        tombstoneTtlMs: c.tombstone_ttl,
        maxEntries: c.cache_size,
        resyncIntervalMs: c.resync_interval,
        reconnect: { initialMs: c.reconnect.initial_backoff, maxMs: c.reconnect.max_backoff },
        podLabels: c.pod_labels,
        podAnnotations: c.pod_annotations,
        ...(node ? { node } : {}),
        ...(c.log_directory ? { logDirectory: c.log_directory } : {}),
      },
      {
        logger: ctx.logger,
        metrics: ctx.metrics,
        component: ctx.name,
        onHealth: (healthy, reason) => ctx.setHealthy(healthy, healthy ? undefined : reason),
      },
    );
    this.cache = cache;
    this.enricher = new ContainerEnricher(cache, REASONS, ctx, c.max_wait);
    await cache.start();
    if (!cache.available) ctx.setHealthy(false, cache.unavailableReason);
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
