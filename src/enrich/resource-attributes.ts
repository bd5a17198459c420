// The one place a ContainerRef becomes OpenTelemetry resource attributes (semantic-convention names), used by the
// OTLP sink's resource grouping; OCSF `container.tags` use the same k8s.* keys (src/ocsf/mappers/container.ts).
import type { ContainerRef } from '../core/envelope.ts';

export const OTEL = {
  hostName: 'host.name',
  containerId: 'container.id',
  containerName: 'container.name',
  containerRuntime: 'container.runtime',
  imageName: 'container.image.name',
  imageTags: 'container.image.tags',
  imageId: 'container.image.id',
  imageRepoDigests: 'container.image.repo_digests',
  k8sNamespace: 'k8s.namespace.name',
  k8sPodName: 'k8s.pod.name',
  k8sPodUid: 'k8s.pod.uid',
  k8sContainerName: 'k8s.container.name',
  k8sContainerRestartCount: 'k8s.container.restart_count',
  k8sNodeName: 'k8s.node.name',
  /** Followed by the annotation's key. */
  k8sPodAnnotationPrefix: 'k8s.pod.annotation.',
} as const;

export type ResourceAttributes = Record<string, string | string[]>;

export function otelResourceAttributes(hostname: string, container: ContainerRef | undefined): ResourceAttributes {
  const attrs: ResourceAttributes = { [OTEL.hostName]: hostname };
  if (!container) return attrs;
  if (container.id) attrs[OTEL.containerId] = container.id;
  if (container.name) attrs[OTEL.containerName] = container.name;
  if (container.runtime) attrs[OTEL.containerRuntime] = container.runtime;
  const image = container.image;
  if (image?.name) attrs[OTEL.imageName] = image.name;
  if (image?.tag) attrs[OTEL.imageTags] = [image.tag];
  if (image?.id) attrs[OTEL.imageId] = image.id;
  if (image?.digest && image.name) attrs[OTEL.imageRepoDigests] = [`${image.name}@${image.digest}`];
  const k8s = container.k8s;
  if (k8s?.namespace) attrs[OTEL.k8sNamespace] = k8s.namespace;
  if (k8s?.pod) attrs[OTEL.k8sPodName] = k8s.pod;
  if (k8s?.podUid) attrs[OTEL.k8sPodUid] = k8s.podUid;
  if (k8s?.container) attrs[OTEL.k8sContainerName] = k8s.container;
  if (k8s?.restartCount !== undefined) attrs[OTEL.k8sContainerRestartCount] = String(k8s.restartCount);
  if (k8s?.node) attrs[OTEL.k8sNodeName] = k8s.node;
  for (const [key, value] of Object.entries(k8s?.annotations ?? {})) attrs[OTEL.k8sPodAnnotationPrefix + key] = value;
  return attrs;
}
