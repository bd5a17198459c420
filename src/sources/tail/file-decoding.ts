// How the TailEngine turns one file's bytes into envelopes: on the main thread (LocalFileDecoding) or in decode
// workers (src/sources/container_logs/decode-pool.ts). The engine reads, orders, acknowledges and checkpoints; this
// interface is all it knows of the decoding.
import type { Envelope } from '../../core/envelope.ts';
import type { DecodedEvent, LineDecoder } from '../../formats/decoder.ts';
import { LineSplitter } from './line-splitter.ts';

/** Envelopes decoded from consecutive bytes of a file, in file order. */
export interface DecodedBatch {
  envelopes: Envelope[];
  /** Lines read for this batch (metrics). */
  lines: number;
  /** Where reading may resume once this batch (and every earlier one) is acknowledged; absent: the file's own
   * resume position at the time the batch is emitted. */
  resume?: number;
  /** Called once every consumer acknowledged the batch: its events' bytes may be reused (decode workers write the
   * next events into them instead of a fresh buffer). */
  release?: () => void;
}

/** The decoding state of a file was lost (its decode worker died): the engine reads again from `resumeAt`. */
export class DecodingLost extends Error {
  constructor(
    readonly resumeAt: number,
    cause: unknown,
  ) {
    super(`decoding state lost: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export interface FileDecoding {
  /**
   * Decodes `chunk`, read at `offset`. Returns how many bytes it took (the engine reads on from there) and the
   * batches now complete, in file order; a decoding that works ahead may return earlier chunks' batches.
   */
  decode(chunk: Buffer, offset: number): Promise<{ consumed: number; batches: DecodedBatch[] }>;
  /** Every batch still being decoded, in order. */
  drain(): Promise<DecodedBatch[]>;
  /** After `drain`: emits what the decoder holds back, all of it (end of the file's stream) or what waited too long. */
  flush(mode: 'all' | 'expired', now: number): Promise<DecodedBatch[]>;
  /** Offset of the oldest byte decoded but still held back (a partial line, records of an unfinished event). */
  heldFrom(): number | undefined;
  /** The file is finished with: let go of its decoding state. */
  close(): void;
}

/**
 * The sequential state of decoding one file: its line splitter and its decoder. Shared by the main-thread decoding
 * and the decode workers.
 */
export class LineDecoding {
  private readonly splitter: LineSplitter;

  constructor(
    maxLineBytes: number,
    private readonly decoder: LineDecoder,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
  }

  /** Decodes `chunk`, read at `offset`, into `out`; `afterLine` runs after each line. Returns the lines read. */
  feed(chunk: Buffer, offset: number, out: DecodedEvent[], afterLine?: () => void): number {
    let lines = 0;
    this.splitter.feed(chunk, offset, (line, info) => {
      lines++;
      this.decoder.push(line, info, out);
      afterLine?.();
    });
    return lines;
  }

  /** Emits into `out` what is held back: all of it (end of the file's stream), or what waited too long. */
  flush(mode: 'all' | 'expired', now: number, out: DecodedEvent[]): void {
    if (mode === 'expired') {
      this.decoder.flushExpired(now, out);
      return;
    }
    this.splitter.finish((line, info) => this.decoder.push(line, info, out));
    this.decoder.flush(out);
  }

  /** Offset of the oldest byte held back (a line without its end, records of an unfinished event). */
  heldFrom(): number | undefined {
    const pending = this.splitter.pendingStart;
    const held = this.decoder.heldFrom();
    if (pending === undefined) return held;
    return held !== undefined && held < pending ? held : pending;
  }
}

/** Decoding on the main thread, in the read loop. */
export class LocalFileDecoding implements FileDecoding {
  private readonly lines: LineDecoding;

  constructor(
    maxLineBytes: number,
    private readonly source: string,
    decoder: LineDecoder,
  ) {
    this.lines = new LineDecoding(maxLineBytes, decoder);
  }

  async decode(chunk: Buffer, offset: number): Promise<{ consumed: number; batches: DecodedBatch[] }> {
    const out: DecodedEvent[] = [];
    const lines = this.lines.feed(chunk, offset, out);
    const held = this.heldFrom();
    const end = offset + chunk.length;
    return { consumed: chunk.length, batches: [this.batch(out, lines, held !== undefined && held < end ? held : end)] };
  }

  async drain(): Promise<DecodedBatch[]> {
    return [];
  }

  async flush(mode: 'all' | 'expired', now: number): Promise<DecodedBatch[]> {
    const out: DecodedEvent[] = [];
    this.lines.flush(mode, now, out);
    if (mode === 'expired') return out.length > 0 ? [this.batch(out, 0)] : [];
    return [this.batch(out, 0)];
  }

  heldFrom(): number | undefined {
    return this.lines.heldFrom();
  }

  close(): void {}

  private batch(decoded: DecodedEvent[], lines: number, resume?: number): DecodedBatch {
    const source = this.source;
    const envelopes: Envelope[] = new Array(decoded.length);
    for (let i = 0; i < decoded.length; i++) {
      const d = decoded[i]!;
      envelopes[i] = d.container
        ? { event: d.event, source, raw: d.raw, container: d.container }
        : { event: d.event, source, raw: d.raw };
    }
    return resume === undefined ? { envelopes, lines } : { envelopes, lines, resume };
  }
}
