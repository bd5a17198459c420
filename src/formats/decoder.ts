// The contract between the tailing engine (or `outrider normalise`) and a format: lines in, OCSF events out.
// A decoder may hold lines back (partial container lines, audit records of one event, multiline groups); it then
// reports the offset of the oldest held byte so that the source never commits a cursor past unfinished records.
import type { ContainerRef } from '../core/envelope.ts';
import type { OcsfEvent } from '../ocsf/event.ts';

export interface DecodedEvent {
  event: OcsfEvent;
  /** The input text the event came from (also in event.raw_data unless a mapper has a reason not to). */
  raw: string;
  container?: ContainerRef;
  /** Present when every string of the event is a constant of its mapper, a value of the decode context (path, host
   * name, the file's container), JSON-unescaped text of one `raw` record, or one of these strings, which the mapper
   * composed of several parts: masking may then decide on `raw` and them (Redactor.cleanByRaw). */
  fromRaw?: readonly string[];
}

/** Flags on a line handed to a decoder. */
export const LineFlags = {
  None: 0,
  /** The line was longer than the source's max_line_bytes and was cut; the rest was skipped. */
  Cut: 1,
  /** The bytes were not valid UTF-8; invalid sequences were replaced with U+FFFD. */
  InvalidUtf8: 2,
  /** The input ended without a newline after this line (a half-written last line). */
  Unterminated: 4,
} as const;

export interface LineInfo {
  /** Byte offset of the line's first byte in its file (or stream). */
  start: number;
  /** LineFlags bits. */
  flags: number;
  /** Length in bytes of the whole original line when it was cut. */
  originalBytes?: number;
}

export interface LineDecoder {
  push(line: string, info: LineInfo, out: DecodedEvent[]): void;
  /** Offset of the first byte of the oldest record still held back, if any. */
  heldFrom(): number | undefined;
  /** Emits records held longer than the decoder's timeout. */
  flushExpired(now: number, out: DecodedEvent[]): void;
  /** Emits everything held back (end of input, file closed). */
  flush(out: DecodedEvent[]): void;
}

export interface DecodeContext {
  /** Name of the source (or "normalise"). */
  source: string;
  hostname: string;
  /** The file the lines come from, when there is one (CRI paths carry Kubernetes identity). */
  path?: string;
  /** Counts and reports bad input that was kept raw: `reason` is a short metric label. */
  onProblem(reason: string, detail: string): void;
}

export interface RecordFormat<Options = unknown> {
  readonly name: string;
  readonly description: string;
  createDecoder(ctx: DecodeContext, options?: Options): LineDecoder;
}

/**
 * A format whose input is one whole document per file (a scanner's JSON report), not a sequence of records: the file
 * source reads such a file whole, and again whenever it changes; `normalise` reads its input whole.
 */
export interface DocumentFormat {
  readonly name: string;
  readonly description: string;
  /** Decodes one document; never throws (a bad document gives a flagged event and a counted problem). */
  decodeDocument(text: string, ctx: DocumentContext): DecodedEvent[];
}

export interface DocumentContext extends DecodeContext {
  /** When the document was written (the file's modification time), for documents that do not say. */
  modified: number;
}

export type InputFormat = RecordFormat | DocumentFormat;

export function isDocumentFormat(format: InputFormat): format is DocumentFormat {
  return 'decodeDocument' in format;
}
