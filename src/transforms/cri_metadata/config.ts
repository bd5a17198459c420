import { z } from 'zod';
import { duration } from '../../config/units.ts';
import { inputsSchema } from '../../core/common-config.ts';
import { DEFAULT_POD_ANNOTATION_FILTER, DEFAULT_POD_LABEL_FILTER } from '../../enrich/cri-describe.ts';
import type { CriMetadataOptions } from '../../enrich/cri-metadata.ts';
import { labelFilterSchema } from '../../enrich/label-filter.ts';
import { maxWaitKey, metadataCacheShape } from '../../enrich/metadata-config.ts';

export const criMetadataSchema = z.strictObject({
  inputs: inputsSchema,
  socket: z
    .string()
    .min(1)
    .default('/run/containerd/containerd.sock')
    .describe(
      'The container runtime’s CRI socket: containerd /run/containerd/containerd.sock, CRI-O /var/run/crio/crio.sock. Outrider only calls read-only RPCs (Version, ListPodSandbox, PodSandboxStatus, ListContainers, ContainerStatus).',
    ),
  ...metadataCacheShape,
  resync_interval: duration
    .default(5000)
    .describe(
      'Every this long the runtime is listed again: catches what the log-directory watch missed, notices removed containers and whether the runtime still answers.',
    ),
  log_directory: z
    .string()
    .default('/var/log/pods')
    .describe(
      'Where kubelet puts pod logs: watched, so that a container is described the moment its log file appears (even one that lives a few milliseconds). "" watches nothing (listing on resync and on demand only).',
    ),
  node_name: z
    .string()
    .min(1)
    .optional()
    .describe('The node name put on events (k8s.node.name). Default: the NODE_NAME environment variable, if set.'),
  pod_labels: labelFilterSchema(
    DEFAULT_POD_LABEL_FILTER,
    'Pod label',
    'Which pod labels are copied onto events (an allow-list: labels may hold secrets).',
  ),
  pod_annotations: labelFilterSchema(
    DEFAULT_POD_ANNOTATION_FILTER,
    'Pod annotation',
    'Which pod annotations are copied onto events (container.tags k8s.pod.annotation.<key>); none by default.',
  ),
  ...maxWaitKey,
});

export type CriMetadataConfig = z.output<typeof criMetadataSchema>;

/** The cache's options from the config; the node name defaults to NODE_NAME (the DaemonSet's downward API). */
export function criCacheOptions(c: CriMetadataConfig, env: NodeJS.ProcessEnv = process.env): CriMetadataOptions {
  const node = c.node_name ?? (env.NODE_NAME || undefined);
  return {
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
  };
}
