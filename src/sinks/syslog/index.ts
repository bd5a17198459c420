import type { SinkFactory } from '../../core/component.ts';
import { type SyslogSinkConfig, syslogSinkSchema } from './config.ts';
import { SyslogSink } from './sink.ts';

export const syslogSinkFactory: SinkFactory<SyslogSinkConfig> = {
  kind: 'sink',
  type: 'syslog',
  description:
    'Sends OCSF events as RFC 5424 syslog messages (OCSF JSON or CEF) over TLS or TCP with octet-counting framing, or UDP.',
  configSchema: syslogSinkSchema,
  create: (config) => new SyslogSink(config),
};
