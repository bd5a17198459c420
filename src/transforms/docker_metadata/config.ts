import { z } from 'zod';
import { duration } from '../../config/units.ts';
import { inputsSchema } from '../../core/common-config.ts';
import { dockerApiShape } from '../../enrich/docker-config.ts';

export const dockerMetadataSchema = z.strictObject({
  inputs: inputsSchema,
  ...dockerApiShape,
  max_wait: duration
    .default(1000)
    .describe(
      'Longest a batch waits for the first inspect of a container not yet in the cache (normally it is there since its create event).',
    ),
});

export type DockerMetadataConfig = z.output<typeof dockerMetadataSchema>;
