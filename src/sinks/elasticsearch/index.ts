import type { SinkFactory } from '../../core/component.ts';
import { type ElasticsearchSinkConfig, elasticsearchSinkSchema } from './config.ts';
import { ElasticsearchSink } from './sink.ts';

export const elasticsearchSinkFactory: SinkFactory<ElasticsearchSinkConfig> = {
  kind: 'sink',
  type: 'elasticsearch',
  description:
    'Indexes OCSF events into Elasticsearch or OpenSearch with the _bulk API (dated indices or a data stream); refused items are dead-lettered, throttled ones resent.',
  configSchema: elasticsearchSinkSchema,
  create: (config) => new ElasticsearchSink(config),
};
