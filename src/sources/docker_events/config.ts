import { z } from 'zod';
import { duration } from '../../config/units.ts';
import { dockerApiShape } from '../../enrich/docker-config.ts';

export const dockerEventsSchema = z.strictObject({
  ...dockerApiShape,
  start_at: z
    .enum(['now', 'buffered'])
    .default('now')
    .describe(
      'At the very first start (no saved position): only new events, or also those the engine still buffers (its last 256). Later starts always resume after the last acknowledged event.',
    ),
  checkpoint_interval: duration
    .default(1000)
    .describe('How often the acknowledged position (event time) is persisted.'),
  inspect_wait: duration
    .default(2000)
    .describe(
      'Longest wait for inspecting a container whose create/start is being mapped (its privileges, mounts, image).',
    ),
});

export type DockerEventsConfig = z.output<typeof dockerEventsSchema>;
