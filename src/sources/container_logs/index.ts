import type { SourceFactory } from '../../core/component.ts';
import { ownContainer, ownLogExcludes } from '../../enrich/own-container.ts';
import { TailingSource } from '../tail/source.ts';
import { type ContainerLogsConfig, containerLogsSchema } from './config.ts';
import { autoDecodeThreads, DecodePool } from './decode-pool.ts';
import type { ContainerDecoderSettings } from './decoder.ts';

function decoderSettings(c: ContainerLogsConfig): ContainerDecoderSettings {
  return {
    format: c.format,
    max_line_bytes: c.max_line_bytes,
    partial_timeout: c.partial_timeout,
    ...(c.multiline ? { multiline: c.multiline } : {}),
    content: c.content,
    raw_data: c.raw_data,
  };
}

export const containerLogsFactory: SourceFactory<ContainerLogsConfig> = {
  kind: 'source',
  type: 'container_logs',
  description:
    'Tails container log files (Docker json-file, CRI), reassembling split lines, surviving rotation and restarts.',
  configSchema: containerLogsSchema,
  create: (c) => {
    const settings = decoderSettings(c);
    const exclude = c.exclude_own_logs ? [...c.exclude, ...ownLogExcludes(ownContainer())] : c.exclude;
    return new TailingSource(
      { ...c, exclude },
      {
        pool: (ctx) => {
          const threads = c.decode_threads === 'auto' ? autoDecodeThreads() : c.decode_threads;
          // No workers: the pool decodes on the main thread, still into bytes (not event objects waiting for the sinks).
          return new DecodePool(threads, settings, ctx, c.read_chunk_bytes);
        },
      },
    );
  },
};
