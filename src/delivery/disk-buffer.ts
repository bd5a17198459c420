import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ContainerRef, type Envelope, encodeEvent } from '../core/envelope.ts';
import type { OcsfEvent } from '../ocsf/event.ts';
import { writeFileAtomic } from '../state/atomic-file.ts';

export interface DiskBufferOptions {
  dir: string;
  maxBytes: number;
  whenFull: 'block' | 'drop_oldest';
  fsync: 'always' | 'interval' | 'never';
  fsyncIntervalMs: number;
  /** Events deleted unread by drop_oldest. */
  onDropped?: (events: number) => void;
  /** Lines that could not be parsed back (a torn write after a crash is skipped silently: it was never acked). */
  onCorrupt?: (lines: number) => void;
}

/** A read position: byte offset in a segment file. */
export interface BufferPosition {
  segment: number;
  offset: number;
}

export interface BufferedBatch {
  events: Envelope[];
  /** Where the next read starts; pass it to `acknowledge` once the batch is delivered. */
  end: BufferPosition;
  /** When the first event of the batch was written to the buffer (epoch ms). */
  oldestBufferedAt: number;
}

interface Segment {
  seq: number;
  size: number;
  /** Records appended and read by this process (only the active segment uses them: to know when to linger). */
  appended: number;
  read: number;
}

const SEGMENT_FILE = /^(\d{12})\.seg$/;
const CURSOR_FILE = 'cursor.json';

/**
 * An on-disk FIFO of envelopes for one sink, in segment files of NDJSON records. The pipeline side appends (and is
 * acknowledged once the append is durable); the delivery side reads batches in order and acknowledges them after the
 * destination took them, which persists the read cursor and deletes segments read to the end. After a crash, reading
 * resumes at the last persisted cursor (at-least-once: the batch in flight is sent again) and appends go to a fresh
 * segment, so a torn last write is never appended to. Bounded by `maxBytes` of segment files.
 *
 * Record: {"l":LEN,"t":BUFFERED_AT,"s":SOURCE,"e":EVENT,"c":CONTAINER} — `l` is the length of the event's JSON, so
 * reading it back reuses that text as the envelope's memoised encoding instead of serialising the event again.
 */
export class DiskBuffer {
  private readonly segments: Segment[] = [];
  private writeFh!: FileHandle;
  private writeSeq = 0;
  private readPos: BufferPosition = { segment: 0, offset: 0 };
  /** The last acknowledged position (persisted in cursor.json). */
  private acked: BufferPosition = { segment: 0, offset: 0 };
  private readFh: { seq: number; fh: FileHandle } | undefined;
  private totalBytes = 0;
  private readonly segmentBytes: number;
  private dataWaiter: (() => void) | undefined;
  private spaceWaiters: Array<() => void> = [];
  private fsyncTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Reading, dropping and acknowledging all move segments and the read position: one at a time. */
  private exclusiveTail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: DiskBufferOptions) {
    // Small enough that acknowledged data is released in steps of an eighth of the capacity, large enough that a
    // busy sink does not create a file per batch.
    this.segmentBytes = Math.min(64 * 1024 * 1024, Math.max(4096, Math.floor(options.maxBytes / 8)));
  }

  static async open(options: DiskBufferOptions): Promise<DiskBuffer> {
    const buffer = new DiskBuffer(options);
    await buffer.recover();
    return buffer;
  }

  private async recover(): Promise<void> {
    const { dir } = this.options;
    await mkdir(dir, { recursive: true });
    const cursor = await readFile(join(dir, CURSOR_FILE), 'utf8').then(
      (t) => JSON.parse(t) as BufferPosition,
      () => undefined,
    );
    const seqs = (await readdir(dir))
      .map((n) => SEGMENT_FILE.exec(n)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const seq of seqs) {
      if (cursor && seq < cursor.segment) {
        await unlink(this.segmentPath(seq));
        continue;
      }
      this.segments.push({ seq, size: (await stat(this.segmentPath(seq))).size, appended: 0, read: 0 });
    }
    const first = this.segments[0];
    if (cursor) this.acked = { ...cursor };
    if (cursor && first?.seq === cursor.segment) this.readPos = { ...cursor };
    else if (first) this.readPos = { segment: first.seq, offset: 0 };
    this.totalBytes = this.segments.reduce((n, s) => n + s.size, 0);
    const last = this.segments.at(-1)?.seq ?? cursor?.segment ?? 0;
    await this.openWriteSegment(last + 1);
    if (this.segments.length === 1) this.readPos = { segment: this.writeSeq, offset: 0 };
    if (this.options.fsync === 'interval') {
      this.fsyncTimer = setInterval(() => {
        this.writeFh.datasync().catch(() => undefined);
      }, this.options.fsyncIntervalMs);
      this.fsyncTimer.unref();
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveTail.then(fn, fn);
    this.exclusiveTail = run.catch(() => undefined);
    return run;
  }

  private segmentPath(seq: number): string {
    return join(this.options.dir, `${String(seq).padStart(12, '0')}.seg`);
  }

  private async openWriteSegment(seq: number): Promise<void> {
    this.writeSeq = seq;
    this.writeFh = await open(this.segmentPath(seq), 'a', 0o600);
    this.segments.push({ seq, size: 0, appended: 0, read: 0 });
  }

  private async rollWriteSegment(): Promise<void> {
    const old = this.writeFh;
    if (this.options.fsync !== 'never') await old.datasync();
    await old.close();
    await this.openWriteSegment(this.writeSeq + 1);
  }

  /** Bytes not yet delivered (segment files count whole towards max_bytes until deleted; this is what is left). */
  get bytes(): number {
    const first = this.segments[0]!;
    return this.totalBytes - (this.acked.segment === first.seq ? Math.min(this.acked.offset, first.size) : 0);
  }

  /** Whether anything is waiting to be read. */
  get hasUnread(): boolean {
    const { segment, offset } = this.readPos;
    return this.segments.some((s) => (s.seq === segment ? offset < s.size : s.seq > segment && s.size > 0));
  }

  /** Appends events durably (per the fsync policy). With when_full=block, waits for room first. */
  async append(events: Envelope[]): Promise<void> {
    if (events.length === 0) return;
    const now = Date.now();
    let data = '';
    for (const e of events) {
      const json = encodeEvent(e);
      data += `{"l":${json.length},"t":${now},"s":${JSON.stringify(e.source)},"e":${json}`;
      data += e.container ? `,"c":${JSON.stringify(e.container)}}\n` : '}\n';
    }
    const bytes = Buffer.byteLength(data);
    await this.makeRoom(bytes);
    if (this.closed) throw new Error('disk buffer closed');
    const current = this.segments.at(-1)!;
    if (current.size > 0 && current.size + bytes > this.segmentBytes) await this.rollWriteSegment();
    const segment = this.segments.at(-1)!;
    try {
      await this.writeFh.write(data);
      if (this.options.fsync === 'always') await this.writeFh.datasync();
    } catch (err) {
      // A short write (disk full) must not leave half a record for later appends to follow.
      await this.writeFh.truncate(segment.size).catch(() => undefined);
      throw err;
    }
    segment.size += bytes;
    segment.appended += events.length;
    this.totalBytes += bytes;
    const waiter = this.dataWaiter;
    this.dataWaiter = undefined;
    waiter?.();
  }

  private async makeRoom(bytes: number): Promise<void> {
    while (!this.closed && this.totalBytes > 0 && this.totalBytes + bytes > this.options.maxBytes) {
      if (this.options.whenFull === 'block') {
        await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
        continue;
      }
      await this.exclusive(() => this.dropOldestSegment());
    }
  }

  private async dropOldestSegment(): Promise<void> {
    if (this.segments.length === 1) await this.rollWriteSegment();
    const oldest = this.segments.shift()!;
    const from = this.readPos.segment === oldest.seq ? this.readPos.offset : 0;
    let unread = 0;
    if (this.readPos.segment <= oldest.seq) {
      const text = await readFile(this.segmentPath(oldest.seq));
      for (let i = text.indexOf(10, from); i !== -1; i = text.indexOf(10, i + 1)) unread++;
    }
    if (this.readFh?.seq === oldest.seq) await this.closeReader();
    await unlink(this.segmentPath(oldest.seq));
    this.totalBytes -= oldest.size;
    if (this.readPos.segment <= oldest.seq) this.readPos = { segment: this.segments[0]!.seq, offset: 0 };
    if (unread > 0) this.options.onDropped?.(unread);
  }

  /**
   * The next batch in write order: up to `maxEvents` events and `maxBytes` of records (at least one event). When little
   * is waiting, lingers up to `lingerMs` for more, so a trickle still goes out in batches. Resolves undefined once
   * the buffer is closed.
   */
  async read(maxEvents: number, maxBytes: number, lingerMs: number): Promise<BufferedBatch | undefined> {
    if (this.closed) return undefined;
    while (!this.hasUnread) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => {
        this.dataWaiter = resolve;
      });
    }
    const little = () => this.unreadBytesInActive() < maxBytes && this.unreadRecordsInActive() < maxEvents;
    if (lingerMs > 0 && this.readPos.segment === this.writeSeq && little()) {
      const deadline = Date.now() + lingerMs;
      while (!this.closed && Date.now() < deadline && little()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          this.dataWaiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.dataWaiter = undefined;
    }
    for (;;) {
      if (this.closed) return undefined;
      const batch = await this.exclusive(() => this.readFromSegment(maxEvents, maxBytes));
      if (batch) return batch;
      if (!this.hasUnread) return this.read(maxEvents, maxBytes, lingerMs);
    }
  }

  private unreadBytesInActive(): number {
    return this.segments.at(-1)!.size - (this.readPos.segment === this.writeSeq ? this.readPos.offset : 0);
  }

  private unreadRecordsInActive(): number {
    const active = this.segments.at(-1)!;
    return active.appended - active.read;
  }

  private async readFromSegment(maxEvents: number, maxBytes: number): Promise<BufferedBatch | undefined> {
    const segment = this.segments.find((s) => s.seq === this.readPos.segment);
    if (!segment) {
      this.readPos = { segment: this.segments[0]!.seq, offset: 0 };
      return undefined;
    }
    const start = this.readPos.offset;
    if (start >= segment.size) {
      if (segment.seq !== this.writeSeq) await this.advanceReader();
      return undefined;
    }
    if (this.readFh?.seq !== segment.seq) {
      await this.closeReader();
      this.readFh = { seq: segment.seq, fh: await open(this.segmentPath(segment.seq), 'r') };
    }
    let want = Math.min(segment.size - start, Math.max(maxBytes, 64 * 1024));
    for (;;) {
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.readFh.fh.read(chunk, 0, want, start);
      const events: Envelope[] = [];
      let oldest = 0;
      let pos = 0;
      let corrupt = 0;
      while (events.length < maxEvents) {
        const nl = chunk.indexOf(10, pos);
        if (nl === -1 || nl >= bytesRead) break;
        // Within maxBytes (a record is its event plus a few bytes of framing); one larger record goes alone.
        if (events.length > 0 && nl + 1 > maxBytes) break;
        const record = parseRecord(chunk.toString('utf8', pos, nl));
        pos = nl + 1;
        if (!record) {
          corrupt++;
          continue;
        }
        if (events.length === 0) oldest = record.bufferedAt;
        events.push(record.envelope);
      }
      if (corrupt > 0) this.options.onCorrupt?.(corrupt);
      segment.read += events.length + corrupt;
      if (pos > 0) {
        this.readPos = { segment: segment.seq, offset: start + pos };
        if (events.length === 0) return undefined;
        return { events, end: { ...this.readPos }, oldestBufferedAt: oldest };
      }
      if (bytesRead < segment.size - start) {
        want = Math.min(segment.size - start, want * 2);
        continue;
      }
      // No whole record left: the torn tail of a write cut short by a crash (never acknowledged upstream, so it is
      // read again from its source). The active segment only ever holds whole records.
      if (segment.seq !== this.writeSeq) await this.advanceReader();
      return undefined;
    }
  }

  private async advanceReader(): Promise<void> {
    const next = this.segments.find((s) => s.seq > this.readPos.segment);
    if (next) this.readPos = { segment: next.seq, offset: 0 };
    await this.closeReader();
  }

  private async closeReader(): Promise<void> {
    const r = this.readFh;
    this.readFh = undefined;
    await r?.fh.close();
  }

  /** Records that everything before `position` was delivered: persists the cursor, deletes finished segments. */
  acknowledge(position: BufferPosition): Promise<void> {
    return this.exclusive(() => this.acknowledgeNow(position));
  }

  private async acknowledgeNow(position: BufferPosition): Promise<void> {
    // After close (shutdown while a request was in flight) the batch simply counts as unsent: it is sent again.
    if (this.closed) return;
    this.acked = { ...position };
    const cursor = JSON.stringify(position);
    const file = join(this.options.dir, CURSOR_FILE);
    if (this.options.fsync === 'always') await writeFileAtomic(file, cursor);
    else {
      await writeFile(`${file}.tmp`, cursor);
      await rename(`${file}.tmp`, file);
    }
    const active = this.segments.at(-1)!;
    // A writer waiting for room while the reader caught up with the active segment: start a new one so the old one
    // can go.
    if (this.spaceWaiters.length > 0 && position.segment === active.seq && position.offset >= active.size) {
      await this.rollWriteSegment();
    }
    let freed = false;
    while (this.segments.length > 1) {
      const first = this.segments[0]!;
      const done = first.seq < position.segment || (first.seq === position.segment && position.offset >= first.size);
      if (!done) break;
      if (this.readFh?.seq === first.seq) await this.closeReader();
      this.segments.shift();
      await unlink(this.segmentPath(first.seq)).catch(() => undefined);
      this.totalBytes -= first.size;
      freed = true;
      if (this.readPos.segment <= first.seq) this.readPos = { segment: this.segments[0]!.seq, offset: 0 };
    }
    if (freed) for (const w of this.spaceWaiters.splice(0)) w();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.fsyncTimer);
    for (const w of this.spaceWaiters.splice(0)) w();
    this.dataWaiter?.();
    this.dataWaiter = undefined;
    await this.closeReader();
    if (this.options.fsync !== 'never') await this.writeFh.datasync().catch(() => undefined);
    await this.writeFh.close();
  }
}

interface StoredRecord {
  l: number;
  t: number;
  s: string;
  e: OcsfEvent;
  c?: ContainerRef;
}

function parseRecord(line: string): { envelope: Envelope; bufferedAt: number } | undefined {
  let r: StoredRecord;
  try {
    r = JSON.parse(line) as StoredRecord;
  } catch {
    return undefined;
  }
  const prefix = `{"l":${r.l},"t":${r.t},"s":${JSON.stringify(r.s)},"e":`.length;
  const envelope: Envelope = {
    event: r.e,
    source: r.s,
    raw: typeof r.e.raw_data === 'string' ? r.e.raw_data : '',
    encoded: line.slice(prefix, prefix + r.l),
  };
  if (r.c) envelope.container = r.c;
  return { envelope, bufferedAt: r.t };
}
