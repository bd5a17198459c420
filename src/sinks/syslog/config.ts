import { z } from 'zod';
import { byteSize } from '../../config/units.ts';
import { sinkCommonShape } from '../../core/common-config.ts';
import { deliveryShape, requestShape } from '../../delivery/config.ts';

export const SYSLOG_FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

// One kept-open connection carries the messages in order: no compression, no parallel requests.
const {
  compression: _compression,
  compression_level: _compressionLevel,
  concurrency: _concurrency,
  ...connectionShape
} = requestShape;

export const syslogSinkSchema = z.strictObject({
  ...sinkCommonShape,
  ...connectionShape,
  ...deliveryShape,
  host: z.string().min(1).describe('Syslog receiver host name or address.'),
  port: z.number().int().min(1).max(65535).default(6514).describe('Receiver port (6514: syslog over TLS, RFC 5425).'),
  mode: z
    .enum(['tls', 'tcp', 'udp'])
    .default('tls')
    .describe(
      'tls (RFC 5425) or tcp (RFC 6587): octet-counting framing on one kept-open connection. udp (RFC 5426): one datagram per event, no delivery guarantee at all.',
    ),
  facility: z
    .enum(Object.keys(SYSLOG_FACILITIES) as [keyof typeof SYSLOG_FACILITIES, ...Array<keyof typeof SYSLOG_FACILITIES>])
    .default('local0')
    .describe('Syslog facility of every message (the severity comes from the OCSF severity_id).'),
  app_name: z
    .string()
    .regex(/^[!-~]{1,48}$/)
    .default('outrider')
    .describe('RFC 5424 APP-NAME.'),
  format: z
    .enum(['json', 'cef'])
    .default('json')
    .describe('Message body: json (the OCSF event) or cef (ArcSight CEF with the OCSF event in cs1).'),
  max_message_bytes: byteSize
    .default(64 * 1024)
    .describe(
      'Longest message sent; longer events are dead-lettered. Match the receiver’s limit (rsyslog: global(maxMessageSize=…), 8k by default).',
    ),
});

export type SyslogSinkConfig = z.output<typeof syslogSinkSchema>;
