import { z } from 'zod';
import { inputsSchema } from '../../core/common-config.ts';
import { dockerApiShape } from '../../enrich/docker-config.ts';
import { maxWaitKey } from '../../enrich/metadata-config.ts';

export const dockerMetadataSchema = z.strictObject({
  inputs: inputsSchema,
  ...dockerApiShape,
  ...maxWaitKey,
});

export type DockerMetadataConfig = z.output<typeof dockerMetadataSchema>;
