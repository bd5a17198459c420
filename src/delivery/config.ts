// Config keys every network sink shares: TLS, the request itself, the disk buffer and the dead-letter file. A sink's
// config.ts spreads the shapes it needs next to `sinkCommonShape`.
import { z } from 'zod';
import { byteSize, duration } from '../config/units.ts';

export const tlsSchema = z
  .strictObject({
    verify_certificate: z
      .boolean()
      .default(true)
      .describe('Verify the server certificate chain and host name. Turn off only for a throw-away test setup.'),
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of the CA(s) to trust instead of the system store (a private PKI).'),
    crt_file: z.string().min(1).optional().describe('PEM client certificate for mutual TLS (with key_file).'),
    key_file: z.string().min(1).optional().describe('PEM private key of crt_file.'),
    server_name: z
      .string()
      .min(1)
      .optional()
      .describe('Name sent as SNI and checked against the certificate (default: the host of the endpoint).'),
  })
  .refine((t) => (t.crt_file === undefined) === (t.key_file === undefined), {
    message: 'crt_file and key_file go together',
  })
  .default({ verify_certificate: true })
  .describe('TLS towards the destination (used for https:// endpoints and syslog over TLS).');

export type TlsConfig = z.output<typeof tlsSchema>;

export const bufferSchema = z
  .strictObject({
    type: z
      .enum(['memory', 'disk'])
      .default('memory')
      .describe(
        'memory: events are acknowledged to the sources only once the destination accepted them (a slow or down destination slows the sources). disk: events are acknowledged once durably in an on-disk buffer and delivered from there in order; they survive restarts and crashes.',
      ),
    max_bytes: byteSize
      .default(256 * 1024 * 1024)
      .describe('Disk buffer: most bytes of segment files kept before when_full applies.'),
    when_full: z
      .enum(['block', 'drop_oldest'])
      .default('block')
      .describe(
        'Disk buffer full: block (the sources wait: nothing is lost, reading falls behind) or drop_oldest (the oldest segment is deleted and its events counted in outrider_events_lost_total{reason="buffer_full"}).',
      ),
    fsync: z
      .enum(['always', 'interval', 'never'])
      .default('always')
      .describe(
        'always: each write is fsynced before the sources are acknowledged (survives power loss). interval: fsync every fsync_interval (survives a process crash; a power loss may lose the last interval). never: leave it to the OS.',
      ),
    fsync_interval: duration.default(1000).describe('With fsync: interval, how often the buffer is fsynced.'),
    path: z
      .string()
      .min(1)
      .optional()
      .describe('Directory of the disk buffer (default: buffer/ in the sink state directory under data_dir).'),
  })
  .refine((b) => b.type === 'disk' || b.when_full === 'block', {
    message: 'when_full: drop_oldest needs type: disk (the memory buffer always holds the sources back)',
    path: ['when_full'],
  })
  .default({ type: 'memory', max_bytes: 256 * 1024 * 1024, when_full: 'block', fsync: 'always', fsync_interval: 1000 })
  .describe('Where events wait between the pipeline and the destination.');

export type BufferConfig = z.output<typeof bufferSchema>;

export const deadLetterSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .optional()
      .describe(
        'NDJSON file of events the destination refused for their content, one per line with the reason (default: dead-letter.ndjson in the sink state directory under data_dir). `outrider replay-dead-letter --sink NAME` sends them again.',
      ),
    max_bytes: byteSize
      .default(256 * 1024 * 1024)
      .describe(
        'Largest size of the dead-letter file: once there, further refused events are not written but counted in outrider_events_lost_total{reason="dead_letter_full"} (moving the file away makes room).',
      ),
  })
  .default({ max_bytes: 256 * 1024 * 1024 })
  .describe(
    'Events refused for their own content: a 400 or 413 for that one event (a refused batch is split until the event is alone), a bulk item refused for good. Credentials or endpoint refused (401, 403, 404) are retried instead.',
  );

export type DeadLetterConfig = z.output<typeof deadLetterSchema>;

/** Keys of every sink that goes over the network (file and stdout sinks have neither buffer nor dead letters). */
export const deliveryShape = {
  buffer: bufferSchema,
  dead_letter: deadLetterSchema,
};

/** Default gzip level of request bodies (see compression_level). */
export const GZIP_LEVEL = 3;

export const requestShape = {
  timeout: duration.default(30_000).describe('Longest wait for one request (connect, send, response).'),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe(
      'Requests in flight at once. 1 keeps the destination’s arrival order equal to the read order; more hides round trips (Splunk indexer acknowledgement, a distant SIEM) but batches may arrive out of order. Acknowledgements to the sources and the disk buffer stay in order either way.',
    ),
  compression: z
    .enum(['gzip', 'none'])
    .default('gzip')
    .describe('Request body compression (gzip: about 10x fewer bytes for OCSF JSON).'),
  compression_level: z
    .number()
    .int()
    .min(1)
    .max(9)
    .default(GZIP_LEVEL)
    .describe(
      'gzip level, 1 (fastest) to 9 (smallest). The default, 3, compresses OCSF NDJSON about 16x at the speed of level 1 (zlib levels 1-3 share its fast matcher); 6 gains a third in size for twice the CPU.',
    ),
  tls: tlsSchema,
};

export type DeliveryOptions = { buffer: BufferConfig; dead_letter: DeadLetterConfig };

/** `auth` variants of HTTP sinks; each sink offers those its destination understands. */
export const basicAuthSchema = z.strictObject({
  strategy: z.literal('basic'),
  user: z.string().min(1).describe('User name.'),
  password: z
    .string()
    .describe(
      'Password: reference a mounted file or an environment variable (config interpolation), never write it here.',
    ),
});
export const bearerAuthSchema = z.strictObject({
  strategy: z.literal('bearer'),
  token: z
    .string()
    .min(1)
    .describe('Bearer token: reference a mounted file or an environment variable (config interpolation).'),
});
export const apiKeyAuthSchema = z.strictObject({
  strategy: z.literal('api_key'),
  api_key: z
    .string()
    .min(1)
    .describe(
      'The encoded API key (base64 of id:key, as Elasticsearch returns it): reference a mounted file or an environment variable (config interpolation).',
    ),
});

export type HttpAuth =
  | z.output<typeof basicAuthSchema>
  | z.output<typeof bearerAuthSchema>
  | z.output<typeof apiKeyAuthSchema>;
