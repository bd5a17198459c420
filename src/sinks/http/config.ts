import { z } from 'zod';
import { sinkCommonShape } from '../../core/common-config.ts';
import { basicAuthSchema, bearerAuthSchema, deliveryShape, requestShape } from '../../delivery/config.ts';

export const httpSinkSchema = z.strictObject({
  ...sinkCommonShape,
  ...requestShape,
  ...deliveryShape,
  uri: z.url({ protocol: /^https?$/ }).describe('Where batches are sent, e.g. https://collector.example.com/ingest.'),
  method: z.enum(['POST', 'PUT']).default('POST').describe('HTTP method of each request.'),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('Extra headers sent with every request (values may use config interpolation for secrets).'),
  auth: z
    .discriminatedUnion('strategy', [basicAuthSchema, bearerAuthSchema])
    .optional()
    .describe('Authentication sent with every request (never logged).'),
});

export type HttpSinkConfig = z.output<typeof httpSinkSchema>;
