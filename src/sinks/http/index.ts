import type { SinkFactory } from '../../core/component.ts';
import { type HttpSinkConfig, httpSinkSchema } from './config.ts';
import { HttpSink } from './sink.ts';

export const httpSinkFactory: SinkFactory<HttpSinkConfig> = {
  kind: 'sink',
  type: 'http',
  description:
    'Sends OCSF events as NDJSON (one event per line) in HTTP POST/PUT requests: a webhook for anything else.',
  configSchema: httpSinkSchema,
  create: (config) => new HttpSink(config),
};
