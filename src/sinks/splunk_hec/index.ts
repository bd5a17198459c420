import type { SinkFactory } from '../../core/component.ts';
import { type SplunkHecSinkConfig, splunkHecSinkSchema } from './config.ts';
import { SplunkHecSink } from './sink.ts';

export const splunkHecSinkFactory: SinkFactory<SplunkHecSinkConfig> = {
  kind: 'sink',
  type: 'splunk_hec',
  description:
    'Sends OCSF events to Splunk’s HTTP Event Collector (/services/collector/event), optionally waiting for indexer acknowledgement.',
  configSchema: splunkHecSinkSchema,
  create: (config) => new SplunkHecSink(config),
};
