import type { Source, SourceContext, SourceFactory } from '../../core/component.ts';
import type { LineDecoder } from '../../formats/decoder.ts';
import { tailOptions } from '../tail/config.ts';
import { TailEngine } from '../tail/engine.ts';
import { type ContainerLogsConfig, containerLogsSchema } from './config.ts';
import { ContainerLogDecoder } from './decoder.ts';
import { containerFromPath } from './path-meta.ts';

/** Sniffs the log format from a file's first line: json-file records are JSON objects, CRI lines start with a time. */
export function sniffContainerFormat(firstLine: string): 'docker-json' | 'cri' {
  return firstLine.trimStart().startsWith('{') ? 'docker-json' : 'cri';
}

class ContainerLogsSource implements Source {
  private engine: TailEngine | undefined;

  constructor(private readonly config: ContainerLogsConfig) {}

  async start(ctx: SourceContext): Promise<void> {
    const c = this.config;
    const engine: TailEngine = new TailEngine(
      tailOptions(c, (path, firstLine): LineDecoder => {
        const format = c.format === 'auto' ? sniffContainerFormat(firstLine) : c.format;
        const container = containerFromPath(path);
        return new ContainerLogDecoder(
          format,
          { source: ctx.name, hostname: ctx.hostname, path, onProblem: engine.onProblem },
          {
            maxMessageBytes: c.max_line_bytes,
            partialTimeout: c.partial_timeout,
            ...(c.multiline ? { multiline: c.multiline } : {}),
            ...(container ? { container } : {}),
            content: c.content,
          },
        );
      }),
      ctx,
    );
    this.engine = engine;
    await engine.start();
  }

  async stop(): Promise<void> {
    await this.engine?.stop();
  }

  async commit(): Promise<void> {
    await this.engine?.commit();
  }
}

export const containerLogsFactory: SourceFactory<ContainerLogsConfig> = {
  kind: 'source',
  type: 'container_logs',
  description:
    'Tails container log files (Docker json-file, CRI), reassembling split lines, surviving rotation and restarts.',
  configSchema: containerLogsSchema,
  create: (config) => new ContainerLogsSource(config),
};
