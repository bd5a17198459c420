import { z } from 'zod';
import { duration } from '../../config/units.ts';
import { sinkCommonShape } from '../../core/common-config.ts';
import { deliveryShape, requestShape } from '../../delivery/config.ts';

export const splunkHecSinkSchema = z.strictObject({
  ...sinkCommonShape,
  ...requestShape,
  ...deliveryShape,
  endpoint: z
    .url({ protocol: /^https?$/ })
    .describe('Base URL of the HTTP Event Collector, e.g. https://splunk.example.com:8088 (no path).'),
  token: z
    .string()
    .min(1)
    .describe(
      'HEC token: reference a mounted file or an environment variable (config interpolation), not the token itself.',
    ),
  sourcetype: z.string().min(1).default('ocsf').describe('Splunk sourcetype of every event of this sink.'),
  index: z.string().min(1).optional().describe('Splunk index (default: the token’s default index).'),
  source: z.string().min(1).optional().describe('Splunk source (default: outrider:<source component name>).'),
  indexer_acknowledgement: z
    .strictObject({
      enabled: z
        .boolean()
        .default(false)
        .describe(
          'Wait until Splunk reports the events indexed (the token must have indexer acknowledgement on) before acknowledging them to the sources or the disk buffer.',
        ),
      poll_interval: duration.default(1000).describe('How often /services/collector/ack is asked.'),
      timeout: duration
        .default(60_000)
        .describe('A batch not acknowledged within this long is sent again (at-least-once).'),
    })
    .default({ enabled: false, poll_interval: 1000, timeout: 60_000 }),
});

export type SplunkHecSinkConfig = z.output<typeof splunkHecSinkSchema>;
