import { z } from 'zod';
import { sinkCommonShape } from '../../core/common-config.ts';
import type { Sink, SinkFactory } from '../../core/component.ts';
import { type Envelope, encodeNdjson } from '../../core/envelope.ts';

export const stdoutSinkSchema = z.strictObject({ ...sinkCommonShape });
export type StdoutSinkConfig = z.output<typeof stdoutSinkSchema>;

/** Writes events as NDJSON to standard output (for `kubectl logs`-style collection, or debugging). */
class StdoutSink implements Sink {
  async write(events: Envelope[]): Promise<void> {
    const data = encodeNdjson(events);
    await new Promise<void>((resolve, reject) => process.stdout.write(data, (err) => (err ? reject(err) : resolve())));
  }

  async stop(): Promise<void> {}
}

export const stdoutSinkFactory: SinkFactory<StdoutSinkConfig> = {
  kind: 'sink',
  type: 'stdout',
  description: 'Writes OCSF events as NDJSON to standard output.',
  configSchema: stdoutSinkSchema,
  create: () => new StdoutSink(),
};
