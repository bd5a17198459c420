// The Source every file-tailing component is: a TailEngine over the shared tailing keys, with the component's own
// decoder per file.
import type { Source, SourceContext } from '../../core/component.ts';
import type { DecodeContext, LineDecoder } from '../../formats/decoder.ts';
import { type TailConfig, tailOptions } from './config.ts';
import { TailEngine } from './engine.ts';

/** A decoder for one file; `decodeCtx` carries the source name, host, path and the engine's problem counter. */
export type FileDecoderFactory = (decodeCtx: DecodeContext, firstLine: string, ctx: SourceContext) => LineDecoder;

export class TailingSource implements Source {
  private engine: TailEngine | undefined;

  constructor(
    private readonly config: TailConfig,
    private readonly createDecoder: FileDecoderFactory,
  ) {}

  async start(ctx: SourceContext): Promise<void> {
    const engine: TailEngine = new TailEngine(
      tailOptions(this.config, (path, firstLine) =>
        this.createDecoder(
          { source: ctx.name, hostname: ctx.hostname, path, onProblem: engine.onProblem },
          firstLine,
          ctx,
        ),
      ),
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
