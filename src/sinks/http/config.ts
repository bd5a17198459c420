import { z } from 'zod';
import { sinkCommonShape } from '../../core/common-config.ts';
import { deliveryShape, requestShape } from '../../delivery/config.ts';

export const httpAuthSchema = z
  .discriminatedUnion('strategy', [
    z.strictObject({
      strategy: z.literal('basic'),
      user: z.string().min(1).describe('User name.'),
      password: z
        .string()
        .describe(
          'Password: reference a mounted file or an environment variable (config interpolation), never write it here.',
        ),
    }),
    z.strictObject({
      strategy: z.literal('bearer'),
      token: z
        .string()
        .min(1)
        .describe('Bearer token: reference a mounted file or an environment variable (config interpolation).'),
    }),
  ])
  .optional()
  .describe('Authentication sent with every request (never logged).');

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
  auth: httpAuthSchema,
});

export type HttpSinkConfig = z.output<typeof httpSinkSchema>;
