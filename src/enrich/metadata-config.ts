// Config keys shared by every container metadata cache (Docker Engine API, CRI) and the transforms that use them,
// defined once.
import { z } from 'zod';
import { duration } from '../config/units.ts';

export const metadataCacheShape = {
  request_timeout: duration
    .default(2000)
    .describe('Longest wait for one API call; a slower runtime counts as unreachable (degraded, not stuck).'),
  reconnect: z
    .strictObject({
      initial_backoff: duration.default(500).describe('First wait before reconnecting to an unreachable runtime.'),
      max_backoff: duration.default(30_000).describe('Longest wait between reconnection attempts (with jitter).'),
    })
    .default({ initial_backoff: 500, max_backoff: 30_000 })
    .describe('Reconnection to the runtime (exponential backoff with full jitter).'),
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
};

/** The enriching transforms' bound on waiting for a container the cache does not hold yet. */
export const maxWaitKey = {
  max_wait: duration
    .default(1000)
    .describe(
      'Longest a batch waits for the first description of a container not yet in the cache (normally it is there since the container was created).',
    ),
};

export interface MetadataCacheConfig {
  request_timeout: number;
  reconnect: { initial_backoff: number; max_backoff: number };
  tombstone_ttl: number;
  cache_size: number;
}
