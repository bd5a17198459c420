import type { SourceFactory } from '../../core/component.ts';
import { TailingSource } from '../tail/source.ts';
import { type ContainerLogsConfig, containerLogsSchema } from './config.ts';
import { ContainerLogDecoder } from './decoder.ts';
import { containerFromPath } from './path-meta.ts';

/** Sniffs the log format from a file's first line: json-file records are JSON objects, CRI lines start with a time. */
export function sniffContainerFormat(firstLine: string): 'docker-json' | 'cri' {
  return firstLine.trimStart().startsWith('{') ? 'docker-json' : 'cri';
}

export const containerLogsFactory: SourceFactory<ContainerLogsConfig> = {
  kind: 'source',
  type: 'container_logs',
  description:
    'Tails container log files (Docker json-file, CRI), reassembling split lines, surviving rotation and restarts.',
  configSchema: containerLogsSchema,
  create: (c) =>
    new TailingSource(c, (decodeCtx, firstLine) => {
      const format = c.format === 'auto' ? sniffContainerFormat(firstLine) : c.format;
      const container = decodeCtx.path ? containerFromPath(decodeCtx.path) : undefined;
      return new ContainerLogDecoder(format, decodeCtx, {
        maxMessageBytes: c.max_line_bytes,
        partialTimeout: c.partial_timeout,
        ...(c.multiline ? { multiline: c.multiline } : {}),
        ...(container ? { container } : {}),
        content: c.content,
      });
    }),
};
