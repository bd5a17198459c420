// Config keys shared by every source that tails files (container_logs, file), and their translation into
// TailEngine options: defined once so both sources document and default them the same way.
import { z } from 'zod';
import { byteSize, duration } from '../../config/units.ts';
import type { TailOptions } from './engine.ts';

export const tailKeys = {
  exclude: z.array(z.string().min(1)).default([]).describe('Glob patterns of files never to tail.'),
  read_from: z
    .enum(['beginning', 'end'])
    .default('beginning')
    .describe(
      'Files already present at the very first start (no checkpoint yet): read whole, or only new lines. Files that appear later are always read whole.',
    ),
  glob_interval: duration
    .default(1000)
    .describe('Rescan of the include globs (directory watches make most discoveries immediate).'),
  poll_interval: duration
    .default(250)
    .describe('How often an idle file is checked for new data when no change was notified.'),
  rotate_wait: duration
    .default(5000)
    .describe('How long a rotated or deleted file stays open after its last data, for late writes.'),
  max_line_bytes: byteSize
    .default(1024 * 1024)
    .describe(
      'Longest line (reassembled message) kept; longer ones are cut at this size and flagged (metadata.is_truncated).',
    ),
  read_chunk_bytes: byteSize.default(128 * 1024).describe('Bytes read from a file at a time.'),
  checkpoint_interval: duration.default(1000).describe('How often acknowledged positions are persisted.'),
};

export interface TailConfig {
  include: string[];
  exclude: string[];
  read_from: 'beginning' | 'end';
  glob_interval: number;
  poll_interval: number;
  rotate_wait: number;
  max_line_bytes: number;
  read_chunk_bytes: number;
  checkpoint_interval: number;
}

/** TailEngine options from the shared keys; the source adds how a file is decoded. */
export function tailOptions(c: TailConfig, createDecoding: TailOptions['createDecoding']): TailOptions {
  return {
    include: c.include,
    exclude: c.exclude,
    readFrom: c.read_from,
    globInterval: c.glob_interval,
    pollInterval: c.poll_interval,
    rotateWait: c.rotate_wait,
    readChunkBytes: c.read_chunk_bytes,
    checkpointInterval: c.checkpoint_interval,
    createDecoding,
  };
}
