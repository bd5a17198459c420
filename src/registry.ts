// Every component type Outrider knows, by kind and type name. Adding a component = its folder + one line here.
import type { AnyFactory, ComponentKind } from './core/component.ts';
import { elasticsearchSinkFactory } from './sinks/elasticsearch/index.ts';
import { fileSinkFactory } from './sinks/file/index.ts';
import { httpSinkFactory } from './sinks/http/index.ts';
import { otlpHttpSinkFactory } from './sinks/otlp_http/index.ts';
import { splunkHecSinkFactory } from './sinks/splunk_hec/index.ts';
import { stdoutSinkFactory } from './sinks/stdout/index.ts';
import { syslogSinkFactory } from './sinks/syslog/index.ts';
import { containerLogsFactory } from './sources/container_logs/index.ts';
import { dockerEventsFactory } from './sources/docker_events/index.ts';
import { fileSourceFactory } from './sources/file/index.ts';
import { baselineFactory } from './transforms/baseline/index.ts';
import { criMetadataFactory } from './transforms/cri_metadata/index.ts';
import { dockerMetadataFactory } from './transforms/docker_metadata/index.ts';
import { rulesTransformFactory } from './transforms/rules/index.ts';
import { vulnerabilityContextFactory } from './transforms/vulnerability_context/index.ts';

const FACTORIES: AnyFactory[] = [
  containerLogsFactory,
  dockerEventsFactory,
  fileSourceFactory,
  dockerMetadataFactory,
  criMetadataFactory,
  rulesTransformFactory,
  baselineFactory,
  vulnerabilityContextFactory,
  fileSinkFactory,
  stdoutSinkFactory,
  httpSinkFactory,
  otlpHttpSinkFactory,
  splunkHecSinkFactory,
  elasticsearchSinkFactory,
  syslogSinkFactory,
];

export function findFactory(kind: ComponentKind, type: string): AnyFactory | undefined {
  return FACTORIES.find((f) => f.kind === kind && f.type === type);
}

export function factoryTypes(kind: ComponentKind): string[] {
  return FACTORIES.filter((f) => f.kind === kind).map((f) => f.type);
}

export function allFactories(): readonly AnyFactory[] {
  return FACTORIES;
}
