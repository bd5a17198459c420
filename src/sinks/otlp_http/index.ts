import type { SinkFactory } from '../../core/component.ts';
import { type OtlpHttpSinkConfig, otlpHttpSinkSchema } from './config.ts';
import { OtlpHttpSink } from './sink.ts';

export const otlpHttpSinkFactory: SinkFactory<OtlpHttpSinkConfig> = {
  kind: 'sink',
  type: 'otlp_http',
  description:
    'Sends OCSF events as OpenTelemetry log records over OTLP/HTTP (protobuf or JSON), grouped by container/Kubernetes resource.',
  configSchema: otlpHttpSinkSchema,
  create: (config) => new OtlpHttpSink(config),
};
