import { z } from 'zod';
import { sinkCommonShape } from '../../core/common-config.ts';
import { apiKeyAuthSchema, basicAuthSchema, deliveryShape, requestShape } from '../../delivery/config.ts';

export const elasticsearchSinkSchema = z.strictObject({
  ...sinkCommonShape,
  ...requestShape,
  ...deliveryShape,
  endpoint: z
    .url({ protocol: /^https?$/ })
    .describe('Base URL of the cluster (Elasticsearch or OpenSearch), e.g. https://es.example.com:9200.'),
  mode: z
    .enum(['index', 'data_stream'])
    .default('index')
    .describe(
      'index: `index` actions into the index named by `index` (a template). data_stream: `create` actions into <type>-<dataset>-<namespace>, documents get @timestamp.',
    ),
  index: z
    .string()
    .min(1)
    .default('ocsf-%Y.%m.%d')
    .describe('Index name template (mode index): %Y, %m, %d, %H are the event time’s UTC year, month, day, hour.'),
  data_stream: z
    .strictObject({
      type: z.string().min(1).default('logs').describe('Data stream type.'),
      dataset: z.string().min(1).default('ocsf').describe('Data stream dataset.'),
      namespace: z.string().min(1).default('default').describe('Data stream namespace.'),
    })
    .default({ type: 'logs', dataset: 'ocsf', namespace: 'default' })
    .describe('Data stream name parts (mode data_stream).'),
  pipeline: z.string().min(1).optional().describe('Ingest pipeline to run on every document.'),
  auth: z
    .discriminatedUnion('strategy', [basicAuthSchema, apiKeyAuthSchema])
    .optional()
    .describe('Authentication (never logged).'),
});

export type ElasticsearchSinkConfig = z.output<typeof elasticsearchSinkSchema>;
