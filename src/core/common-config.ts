// Config keys shared by every transform and sink: where their events come from, and how a sink batches and queues.
import { z } from 'zod';
import { byteSize, duration } from '../config/units.ts';

export const inputsSchema = z
  .array(z.string().min(1))
  .min(1)
  .describe('Names of the sources or transforms whose events this component receives.');

export const batchSchema = z
  .strictObject({
    max_events: z.number().int().positive().default(1024).describe('Flush once this many events are waiting.'),
    max_bytes: byteSize.default(8 * 1024 * 1024).describe('Flush once the encoded batch reaches this size.'),
    timeout: duration.default(1000).describe('Flush at the latest this long after the first event arrived.'),
  })
  .default({ max_events: 1024, max_bytes: 8 * 1024 * 1024, timeout: 1000 })
  .describe('Batching: a batch is written when any limit is reached.');

export const queueSchema = z
  .strictObject({
    max_events: z
      .number()
      .int()
      .positive()
      .default(4096)
      .describe('Events the in-memory input queue holds before the sources feeding this sink are slowed down.'),
  })
  .default({ max_events: 4096 })
  .describe('The sink input queue (bounded: backpressure, not unbounded memory).');

export const retrySchema = z
  .strictObject({
    initial_backoff: duration.default(200).describe('First wait after a failed write.'),
    max_backoff: duration.default(30_000).describe('Longest wait between attempts (exponential, with jitter).'),
  })
  .default({ initial_backoff: 200, max_backoff: 30_000 })
  .describe('How a failed write is retried; the batch stays unacknowledged until it is written.');

export const sinkCommonShape = {
  inputs: inputsSchema,
  batch: batchSchema,
  queue: queueSchema,
  retry: retrySchema,
};

export type SinkCommonConfig = {
  inputs: string[];
  batch: z.output<typeof batchSchema>;
  queue: z.output<typeof queueSchema>;
  retry: z.output<typeof retrySchema>;
};
