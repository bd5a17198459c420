import { z } from 'zod';
import { sinkCommonShape } from '../../core/common-config.ts';
import { deliveryShape, requestShape } from '../../delivery/config.ts';

export const otlpHttpSinkSchema = z.strictObject({
  ...sinkCommonShape,
  ...requestShape,
  ...deliveryShape,
  endpoint: z
    .url({ protocol: /^https?$/ })
    .describe('OTLP/HTTP logs endpoint, e.g. http://otel-collector:4318/v1/logs (a URL without a path gets /v1/logs).'),
  encoding: z
    .enum(['protobuf', 'json'])
    .default('protobuf')
    .describe('Request encoding: protobuf (application/x-protobuf, smaller, the default of collectors) or json.'),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe(
      'Extra headers sent with every request, e.g. an API key header (values may use config interpolation for secrets).',
    ),
});

export type OtlpHttpSinkConfig = z.output<typeof otlpHttpSinkSchema>;
