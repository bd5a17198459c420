// Config keys shared by every transform and sink: where their events come from, and how a sink batches and queues.
import { z } from 'zod';
import { byteSize, duration } from '../config/units.ts';

export const inputsSchema = z
  .array(z.string().min(1))
  .min(1)
  .describe('Names of the sources or transforms whose events this component receives.');

export const batchSchema = z
  .strictObject({
    max_events: z.number().int().positive().default(1024).describe('Most events in one request.'),
    max_bytes: byteSize
      .default(8 * 1024 * 1024)
      .describe(
        'Most encoded bytes (uncompressed NDJSON) in one request: a batch is sent before it would exceed this (an event larger on its own goes alone).',
      ),
    timeout: duration.default(1000).describe('Flush at the latest this long after the first event arrived.'),
  })
  .default({ max_events: 1024, max_bytes: 8 * 1024 * 1024, timeout: 1000 })
  .describe(
    'Batching: a batch is written when either size limit is reached or after the timeout; both size limits hold for every request (larger source batches are split).',
  );

export const queueSchema = z
  .strictObject({
    max_events: z
      .number()
      .int()
      .positive()
      .default(4096)
      .describe('Events the in-memory input queue holds before the sources feeding this sink are slowed down.'),
    max_bytes: byteSize
      .default(32 * 1024 * 1024)
      .describe(
        'Encoded bytes the input queue holds before the sources are slowed down: with the batch limits, what bounds the memory a slow or failing destination can hold (queue + concurrency × batch.max_bytes).',
      ),
  })
  .default({ max_events: 4096, max_bytes: 32 * 1024 * 1024 })
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
