// Config keys shared by every component that talks to the Docker Engine API (the docker_metadata transform, the
// docker_events source), defined once.
import { z } from 'zod';
import { duration } from '../config/units.ts';
import { DEFAULT_LABEL_FILTER } from './docker-inspect.ts';
import type { DockerMetadataOptions } from './docker-metadata.ts';
import { labelFilterSchema } from './label-filter.ts';
import { type MetadataCacheConfig, metadataCacheShape } from './metadata-config.ts';

export const dockerApiShape = {
  socket_path: z
    .string()
    .min(1)
    .default('/var/run/docker.sock')
    .describe('Docker Engine API Unix socket. Outrider only reads from it (list, inspect, events, ping, info).'),
  ...metadataCacheShape,
  health_interval: duration.default(10_000).describe('Ping interval while connected, to notice a hung engine.'),
  labels: labelFilterSchema(
    DEFAULT_LABEL_FILTER,
    'Label',
    'Which container labels are copied onto events (an allow-list; io.kubernetes.* identity is always read).',
  ),
};

export interface DockerApiConfig extends MetadataCacheConfig {
  socket_path: string;
  health_interval: number;
  labels: { keys: string[]; prefixes: string[] };
}

export function metadataCacheOptions(config: DockerApiConfig, watchEvents: boolean): DockerMetadataOptions {
  return {
    socketPath: config.socket_path,
    requestTimeoutMs: config.request_timeout,
    tombstoneTtlMs: config.tombstone_ttl,
    maxEntries: config.cache_size,
    labels: config.labels,
    reconnect: { initialMs: config.reconnect.initial_backoff, maxMs: config.reconnect.max_backoff },
    healthIntervalMs: config.health_interval,
    watchEvents,
  };
}
