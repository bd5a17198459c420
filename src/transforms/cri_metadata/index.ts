// Fills every event of a Kubernetes pod's container — lines of its CRI log file, auditd records of its processes —
// with what the node's container runtime (containerd, CRI-O) knows over its CRI socket: container id and name, image
// (name, tag, digest), pod namespace, name and UID, allow-listed pod labels and annotations, node name. Metadata is
// taken when the container's log file appears and kept after the pod is removed; no runtime call per event. Also
// tells the pipeline which pods' containers run (for vulnerability_context).
import type { ComponentContext, TransformFactory } from '../../core/component.ts';
import { ContainerMetadataTransform } from '../../enrich/container-enricher.ts';
import { type CriContainerMetadata, CriMetadataCache } from '../../enrich/cri-metadata.ts';
import { type CriMetadataConfig, criCacheOptions, criMetadataSchema } from './config.ts';

export class CriMetadataTransform extends ContainerMetadataTransform<CriContainerMetadata, CriMetadataCache> {
  constructor(private readonly config: CriMetadataConfig) {
    super(
      {
        removedBeforeDescribed: 'container removed before the CRI runtime could describe it',
        unknown: 'container unknown to the CRI runtime (removed before Outrider listed it, or never created by it)',
      },
      config.max_wait,
    );
  }

  protected createCache(ctx: ComponentContext, onHealth: (healthy: boolean, reason?: string) => void) {
    return new CriMetadataCache(criCacheOptions(this.config), {
      logger: ctx.logger,
      metrics: ctx.metrics,
      component: ctx.name,
      onHealth,
      ...(ctx.runningContainers ? { running: ctx.runningContainers.feed('cri') } : {}),
    });
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
