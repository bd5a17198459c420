// Fills every event that names a container (envelope.container.id, e.g. from a json-file log path) with what Docker
// knows of it: name, image (id, name, tag, digest), allow-listed labels, Kubernetes identity, placed where OCSF 1.8
// puts containers. Metadata comes from a cache kept fresh by the engine's /events stream: no API call per event.
import type { ComponentContext, TransformFactory } from '../../core/component.ts';
import { ContainerMetadataTransform } from '../../enrich/container-enricher.ts';
import { metadataCacheOptions } from '../../enrich/docker-config.ts';
import { type ContainerMetadata, DockerMetadataCache } from '../../enrich/docker-metadata.ts';
import { type DockerMetadataConfig, dockerMetadataSchema } from './config.ts';

export class DockerMetadataTransform extends ContainerMetadataTransform<ContainerMetadata, DockerMetadataCache> {
  constructor(private readonly config: DockerMetadataConfig) {
    super(
      {
        removedBeforeDescribed:
          'container removed before it could be inspected (described from its engine events only)',
        unknown: 'container unknown to the docker engine',
      },
      config.max_wait,
    );
  }

  protected createCache(ctx: ComponentContext, onHealth: (healthy: boolean, reason?: string) => void) {
    return new DockerMetadataCache(metadataCacheOptions(this.config, true), {
      logger: ctx.logger,
      metrics: ctx.metrics,
      component: ctx.name,
      onHealth,
      ...(ctx.runningContainers ? { running: ctx.runningContainers.feed('docker') } : {}),
    });
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
