import { isUtf8 } from 'node:buffer';
import { LineFlags, type LineInfo } from '../../formats/decoder.ts';

export type LineHandler = (line: string, info: LineInfo) => void;

/**
 * Splits a byte stream into lines, keeping a line split across reads, bounding memory by cutting lines longer than
 * `maxLineBytes` (the cut line is still delivered, flagged, with its original length), and flagging invalid UTF-8.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private start: number | undefined;
  /** Bytes of the current line beyond maxLineBytes, skipped. */
  private skipped = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Offset of the first byte of the line not yet terminated, if any. */
  get pendingStart(): number | undefined {
    return this.start;
  }

  feed(chunk: Buffer, chunkOffset: number, onLine: LineHandler): void {
    const chunkValid = isUtf8(chunk);
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) break;
      if (this.start === undefined && nl - pos <= this.maxLineBytes) {
        // Fast path: the whole line is inside this chunk.
        const info: LineInfo = { start: chunkOffset + pos, flags: LineFlags.None };
        if (!chunkValid && !isUtf8(chunk.subarray(pos, nl))) info.flags |= LineFlags.InvalidUtf8;
        onLine(chunk.toString('utf8', pos, nl), info);
      } else {
        if (this.start === undefined) this.start = chunkOffset + pos;
        this.append(chunk.subarray(pos, nl));
        this.emitPending(onLine, LineFlags.None);
      }
      pos = nl + 1;
    }
    if (pos < chunk.length) {
      if (this.start === undefined) this.start = chunkOffset + pos;
      this.append(chunk.subarray(pos));
    }
  }

  /** Delivers a last line that has no newline (end of a file that will not grow any more). */
  finish(onLine: LineHandler): void {
    if (this.start !== undefined) this.emitPending(onLine, LineFlags.Unterminated);
  }

  /** Forgets an unterminated line (the file was truncated under it). */
  reset(): void {
    this.parts = [];
    this.partsBytes = 0;
    this.start = undefined;
    this.skipped = 0;
  }

  private append(bytes: Buffer): void {
    const room = this.maxLineBytes - this.partsBytes;
    if (bytes.length <= room) {
      // Copy: the read buffer is reused for the next read.
      this.parts.push(Buffer.from(bytes));
      this.partsBytes += bytes.length;
    } else {
      if (room > 0) {
        this.parts.push(Buffer.from(bytes.subarray(0, room)));
        this.partsBytes += room;
      }
      this.skipped += bytes.length - Math.max(0, room);
    }
  }

  private emitPending(onLine: LineHandler, extraFlags: number): void {
    const buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsBytes);
    const info: LineInfo = { start: this.start!, flags: extraFlags };
    let end = buf.length;
    if (this.skipped > 0) {
      info.flags |= LineFlags.Cut;
      info.originalBytes = this.partsBytes + this.skipped;
      // Do not end a cut line inside a multi-byte character.
      while (end > 0 && end > buf.length - 4 && (buf[end - 1]! & 0xc0) === 0x80) end--;
      if (end > 0 && buf[end - 1]! >= 0xc0) end--;
    }
    const bytes = buf.subarray(0, end);
    if (!isUtf8(bytes)) info.flags |= LineFlags.InvalidUtf8;
    this.reset();
    onLine(bytes.toString('utf8'), info);
  }
}
