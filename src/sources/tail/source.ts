// The Source every file-tailing component is: a TailEngine over the shared tailing keys, with the component's own
// decoder per file.
import type { Source, SourceContext } from '../../core/component.ts';
import type { DecodeContext, LineDecoder } from '../../formats/decoder.ts';
import { type TailConfig, tailOptions } from './config.ts';
import { TailEngine } from './engine.ts';
import { type FileDecoding, LocalFileDecoding } from './file-decoding.ts';

/** A decoder for one file; `decodeCtx` carries the source name, host, path and the engine's problem counter. */
export type FileDecoderFactory = (decodeCtx: DecodeContext, ctx: SourceContext) => LineDecoder;

/** Decoding by a pool (container logs: decode workers, or its main-thread runner), instead of per file here. */
export interface RemoteDecoding {
  fileDecoding(path: string): FileDecoding;
  /** Where the workers' bad-input reports go (the engine's counter). */
  onProblem: (reason: string, detail: string) => void;
  close(): Promise<void>;
}

export class TailingSource implements Source {
  private engine: TailEngine | undefined;
  private remote: RemoteDecoding | undefined;

  constructor(
    private readonly config: TailConfig,
    /** A decoder per file, run on the main thread; or a pool that decodes every file. */
    private readonly decoding: FileDecoderFactory | { pool: (ctx: SourceContext) => RemoteDecoding },
  ) {}

  async start(ctx: SourceContext): Promise<void> {
    const decoding = this.decoding;
    const remote = typeof decoding === 'function' ? undefined : decoding.pool(ctx);
    const createDecoding = (path: string): FileDecoding =>
      typeof decoding === 'function'
        ? new LocalFileDecoding(
            this.config.max_line_bytes,
            ctx.name,
            decoding({ source: ctx.name, hostname: ctx.hostname, path, onProblem: engine.onProblem }, ctx),
          )
        : remote!.fileDecoding(path);
    const engine: TailEngine = new TailEngine(tailOptions(this.config, createDecoding), ctx);
    if (remote) remote.onProblem = engine.onProblem;
    this.remote = remote;
    this.engine = engine;
    await engine.start();
  }

  async stop(): Promise<void> {
    await this.engine?.stop();
    await this.remote?.close();
  }

  async commit(): Promise<void> {
    await this.engine?.commit();
  }
}
