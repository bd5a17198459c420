// Config keys shared by every component that talks to the Docker Engine API (the docker_metadata transform, the
// docker_events source), defined once.
import { z } from 'zod';
import { duration } from '../config/units.ts';
import { DEFAULT_LABEL_FILTER } from './docker-inspect.ts';
import type { DockerMetadataOptions } from './docker-metadata.ts';

export const dockerApiShape = {
  socket_path: z
    .string()
    .min(1)
    .default('/var/run/docker.sock')
    .describe('Docker Engine API Unix socket. Outrider only reads from it (list, inspect, events, ping, info).'),
  request_timeout: duration
    .default(2000)
    .describe('Longest wait for one API call; a slower engine counts as unreachable (degraded, not stuck).'),
  health_interval: duration.default(10_000).describe('Ping interval while connected, to notice a hung engine.'),
  reconnect: z
    .strictObject({
      initial_backoff: duration.default(500).describe('First wait before reconnecting to an unreachable engine.'),
      max_backoff: duration.default(30_000).describe('Longest wait between reconnection attempts (with jitter).'),
    })
    .default({ initial_backoff: 500, max_backoff: 30_000 })
    .describe('Reconnection to the engine (exponential backoff with full jitter).'),
  tombstone_ttl: duration
    .default(300_000)
    .describe(
      "How long a removed container's metadata is kept, so its last log lines and late audit records are still enriched.",
    ),
  cache_size: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Most containers held in the metadata cache (live and removed); least recently used go first.'),
  labels: z
    .strictObject({
      keys: z.array(z.string().min(1)).default(DEFAULT_LABEL_FILTER.keys).describe('Label keys copied as they are.'),
      prefixes: z
        .array(z.string())
        .default(DEFAULT_LABEL_FILTER.prefixes)
        .describe('Label key prefixes copied ("" copies every label: labels may hold secrets, so think first).'),
    })
    .default({ keys: DEFAULT_LABEL_FILTER.keys, prefixes: DEFAULT_LABEL_FILTER.prefixes })
    .describe(
      'Which container labels are copied onto events (an allow-list; io.kubernetes.* identity is always read).',
    ),
};

export interface DockerApiConfig {
  socket_path: string;
  request_timeout: number;
  health_interval: number;
  reconnect: { initial_backoff: number; max_backoff: number };
  tombstone_ttl: number;
  cache_size: number;
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
