// Fills every event that names a container (envelope.container.id, e.g. from a json-file log path) with what Docker
// knows of it: name, image (id, name, tag, digest), allow-listed labels, Kubernetes identity, placed where OCSF 1.8
// puts containers. Metadata comes from a cache kept fresh by the engine's /events stream: no API call per event.
import type { ComponentContext, Transform, TransformFactory } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { ContainerEnricher } from '../../enrich/container-enricher.ts';
import { metadataCacheOptions } from '../../enrich/docker-config.ts';
import { type ContainerMetadata, DockerMetadataCache } from '../../enrich/docker-metadata.ts';
import { type DockerMetadataConfig, dockerMetadataSchema } from './config.ts';

const REASONS = {
  removedBeforeDescribed: 'container removed before it could be inspected (described from its engine events only)',
  unknown: 'container unknown to the docker engine',
};

export class DockerMetadataTransform implements Transform {
  private cache: DockerMetadataCache | undefined;
  private enricher: ContainerEnricher<ContainerMetadata> | undefined;

  constructor(private readonly config: DockerMetadataConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    const cache = new DockerMetadataCache(metadataCacheOptions(this.config, true), {
      logger: ctx.logger,
      metrics: ctx.metrics,
      component: ctx.name,
      onHealth: (healthy, reason) => ctx.setHealthy(healthy, healthy ? undefined : reason),
    });
    this.useCache(cache, ctx);
    await cache.start();
    if (!cache.available) ctx.setHealthy(false, 'docker engine unreachable; enrichment degraded');
  }

  /** Uses an existing cache (benchmarks and tests that seed it without an engine). */
  useCache(cache: DockerMetadataCache, ctx: ComponentContext): void {
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

export const dockerMetadataFactory: TransformFactory<DockerMetadataConfig> = {
  kind: 'transform',
  type: 'docker_metadata',
  description:
    'Adds Docker container metadata (name, image, labels, Kubernetes identity) to every event that names a container, from a cache kept fresh by the engine’s event stream.',
  configSchema: dockerMetadataSchema,
  create: (config) => new DockerMetadataTransform(config),
};
