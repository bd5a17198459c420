import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ContainerRef,
  EncodedEnvelope,
  type Envelope,
  encodedSize,
  eventFact,
  eventHost,
  FACTS,
} from '../core/envelope.ts';
import type { OcsfEvent } from '../ocsf/event.ts';
import { writeFileAtomic } from '../state/atomic-file.ts';
import { BodyBuffers, type ByteWriter, eventJsonSpan } from './framing.ts';

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
  /** Called once the batch's events are no longer read (delivered or given up): their bytes serve a later read. */
  release?: () => void;
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
 * Record: a header line `{"b":BYTES,"t":BUFFERED_AT,"s":SOURCE,"f":[FACTS],"h":HOST,"c":CONTAINER}` (host and
 * container when the event has them) and the event's JSON line of BYTES bytes. Appending copies the event's bytes as
 * a decode worker wrote them; reading them back makes encoded envelopes of the bytes where they were read, with the
 * facts sinks frame events with: no event is parsed or serialised on either side. Segments of the earlier one-line
 * record (`{"l":LEN,"t":…,"s":…,"e":EVENT,"c":…}`) are still read.
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
  /** Buffers of appended records and of reads, used again (fresh pages are costly, see BodyBuffers). */
  private readonly writeBuffers = new BodyBuffers();
  private readonly readBuffers = new BodyBuffers();
  /** Facts arrays of reads, used again (below the mmap threshold: fresh ones fragment the malloc heap). */
  private readonly spareFacts: Float64Array[] = [];
  /** Bytes a record took on average when last read: how much to read for a batch. */
  private recordBytes = 2048;

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
    const out = this.writeBuffers.writer(bodySize(events));
    for (const e of events) writeRecord(out, e, now);
    try {
      await this.appendBytes(out.finish(), events.length);
    } finally {
      this.writeBuffers.release(out);
    }
  }

  private async appendBytes(data: Buffer, records: number): Promise<void> {
    const bytes = data.length;
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
    segment.appended += records;
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
      // A record is two lines (header and event), or one in a segment of the earlier format.
      if (text.subarray(0, RECORD_HEADER.length).equals(RECORD_HEADER)) unread = Math.ceil(unread / 2);
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
    // About a batch's worth: the records' size last seen times the events wanted, within max_bytes.
    let want = Math.min(segment.size - start, Math.max(64 * 1024, Math.min(maxBytes, this.recordBytes * maxEvents)));
    for (;;) {
      const reader = this.readBuffers.writer(want);
      const chunk = reader.buf;
      const { bytesRead } = await this.readFh.fh.read(chunk, 0, want, start);
      const events: Envelope[] = [];
      let facts = this.spareFacts.pop();
      if (facts === undefined || facts.length < maxEvents * FACTS) facts = new Float64Array(maxEvents * FACTS);
      let oldest = 0;
      let pos = 0;
      let corrupt = 0;
      while (events.length < maxEvents) {
        const record = readRecord(chunk, pos, bytesRead, facts, events.length);
        if (record === undefined) break;
        // Within maxBytes (a record is its event plus its header line); one larger record goes alone.
        if (events.length > 0 && record.next > maxBytes) break;
        pos = record.next;
        if (record.envelope === undefined) {
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
        if (events.length === 0) {
          this.readBuffers.release(reader);
          this.spareFacts.push(facts);
          return undefined;
        }
        this.recordBytes = Math.ceil(pos / (events.length + corrupt));
        return {
          events,
          end: { ...this.readPos },
          oldestBufferedAt: oldest,
          release: () => {
            this.readBuffers.release(reader);
            if (this.spareFacts.length < 4) this.spareFacts.push(facts);
          },
        };
      }
      this.readBuffers.release(reader);
      this.spareFacts.push(facts);
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

/** The first bytes of a record's header line (and of every segment written in this format). */
const RECORD_HEADER = Buffer.from('{"b":');

/** Record header bytes beyond the event's JSON, at most (the container's JSON comes on top). */
const HEADER_BYTES = 160;

function bodySize(events: Envelope[]): number {
  let n = 0;
  for (const e of events) n += encodedSize(e) + HEADER_BYTES + (e.container ? containerJson(e.container).length : 0);
  return n;
}

const containerJsonCache = new WeakMap<ContainerRef, string>();
function containerJson(container: ContainerRef): string {
  let json = containerJsonCache.get(container);
  if (json === undefined) {
    json = JSON.stringify(container);
    containerJsonCache.set(container, json);
  }
  return json;
}

/** Where the event being appended is in its bytes. */
const span = { start: 0, end: 0 };

/** JSON of the source and host names met (a handful): written without a string per record. */
const nameJson = new Map<string, string>();
function jsonName(name: string): string {
  let json = nameJson.get(name);
  if (json === undefined) {
    json = JSON.stringify(name);
    if (nameJson.size < 1024) nameJson.set(name, json);
  }
  return json;
}

function writeRecord(out: ByteWriter, e: Envelope, now: number): void {
  const json = eventJsonSpan(e, span);
  out.text('{"b":');
  out.number(span.end - span.start);
  out.text(',"t":');
  out.number(now);
  out.text(',"s":');
  out.text(jsonName(e.source));
  out.text(',"f":[');
  for (let f = 0; f < FACTS; f++) {
    if (f > 0) out.byte(0x2c);
    out.number(eventFact(e, f));
  }
  out.byte(0x5d);
  const host = eventHost(e);
  if (host !== undefined) {
    out.text(',"h":');
    out.text(jsonName(host));
  }
  if (e.container) {
    out.text(',"c":');
    out.text(containerJson(e.container));
  }
  out.byte(0x7d);
  out.byte(10);
  out.copy(json, span.start, span.end);
  out.byte(10);
}

interface ReadRecord {
  /** Where the next record starts. */
  next: number;
  /** Undefined for a record that cannot be read (counted, skipped). */
  envelope?: Envelope;
  bufferedAt: number;
}

/** Containers of the records read, by their JSON (the events of one container share one object). */
const containersRead = new Map<string, ContainerRef>();
const CONTAINERS_READ_LIMIT = 1024;
/** The last container read, and its JSON's bytes: consecutive records of one container are not decoded again. */
let lastContainer: { bytes: Buffer; container: ContainerRef } | undefined;
/** Source and host names read, by the bytes of their JSON (a handful; compared, not decoded, per record). */
const namesRead: Array<{ bytes: Buffer; name: string }> = [];
const NAMES_READ_LIMIT = 64;

/** The header being read (one object for every record). */
const header = { b: 0, t: 0, s: '', h: '', container: undefined as ContainerRef | undefined, at: 0 };

/** A number of the header at header.at, up to a delimiter; plain integers read here. */
function headerNumber(chunk: Buffer, end: number): number {
  const start = header.at;
  let at = start;
  let value = 0;
  let plain = true;
  for (; at < end; at++) {
    const c = chunk[at]!;
    if (c === 0x2c || c === 0x5d || c === 0x7d) break;
    if (c >= 0x30 && c <= 0x39) value = value * 10 + (c - 0x30);
    else plain = false;
  }
  header.at = at;
  return plain && at > start && at - start <= 15 ? value : Number(chunk.toString('latin1', start, at) || 'x');
}

/** Whether the header continues with `text` at header.at (then skipped). */
function headerExpect(chunk: Buffer, text: string): boolean {
  const at = header.at;
  for (let k = 0; k < text.length; k++) if (chunk[at + k] !== text.charCodeAt(k)) return false;
  header.at = at + text.length;
  return true;
}

/** A JSON string of the header at header.at: compared with the names read before, decoded only when new. */
function headerName(chunk: Buffer, end: number): string | undefined {
  const open = header.at;
  if (chunk[open] !== 0x22) return undefined;
  let close = -1;
  for (let i = open + 1; i < end; i++) {
    const b = chunk[i];
    if (b === 0x22) {
      close = i;
      break;
    }
    if (b === 0x5c) i++;
  }
  if (close < 0) return undefined;
  header.at = close + 1;
  const bytes = chunk.subarray(open, close + 1);
  for (const n of namesRead) if (n.bytes.equals(bytes)) return n.name;
  let name: unknown;
  try {
    name = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof name !== 'string') return undefined;
  if (namesRead.length < NAMES_READ_LIMIT) namesRead.push({ bytes: Buffer.from(bytes), name });
  return name;
}

/** Reads the header line chunk[from, end) as writeRecord writes it (fixed order) into `header`, its facts into row
 * `row` of `facts`. False: not such a header. */
function parseHeader(chunk: Buffer, from: number, end: number, facts: Float64Array, row: number): boolean {
  header.at = from + RECORD_HEADER.length;
  header.b = headerNumber(chunk, end);
  if (!headerExpect(chunk, ',"t":')) return false;
  header.t = headerNumber(chunk, end);
  if (!headerExpect(chunk, ',"s":')) return false;
  const source = headerName(chunk, end);
  if (source === undefined || !headerExpect(chunk, ',"f":[')) return false;
  header.s = source;
  for (let f = 0; f < FACTS; f++) {
    if (f > 0 && !headerExpect(chunk, ',')) return false;
    facts[row * FACTS + f] = headerNumber(chunk, end);
  }
  if (!headerExpect(chunk, ']')) return false;
  header.h = '';
  if (headerExpect(chunk, ',"h":')) {
    const host = headerName(chunk, end);
    if (host === undefined) return false;
    header.h = host;
  }
  header.container = undefined;
  if (headerExpect(chunk, ',"c":')) {
    // The container's JSON runs to the header's closing brace.
    const bytes = chunk.subarray(header.at, end - 1);
    if (lastContainer?.bytes.equals(bytes)) header.container = lastContainer.container;
    else {
      const json = bytes.toString('utf8');
      let container = containersRead.get(json);
      if (container === undefined) {
        try {
          container = JSON.parse(json) as ContainerRef;
        } catch {
          return false;
        }
        if (containersRead.size >= CONTAINERS_READ_LIMIT) containersRead.clear();
        containersRead.set(json, container);
      }
      lastContainer = { bytes: Buffer.from(bytes), container };
      header.container = container;
    }
    header.at = end - 1;
  }
  return header.at === end - 1 && chunk[header.at] === 0x7d && Number.isInteger(header.b) && header.b >= 2;
}

/**
 * The record at `pos` in `chunk` (bytes up to `end` read), its facts into row `row` of `facts`; undefined when the
 * chunk ends inside it (a record cut by the read, or the torn tail of a crashed write).
 */
function readRecord(chunk: Buffer, pos: number, end: number, facts: Float64Array, row: number): ReadRecord | undefined {
  const nl = chunk.indexOf(10, pos);
  if (nl === -1 || nl >= end) return undefined;
  if (chunk[pos + 1] === 0x22 && chunk[pos + 2] === 0x6c /* {"l": the earlier format */) {
    const earlier = parseEarlierRecord(chunk.toString('utf8', pos, nl));
    return earlier ? { next: nl + 1, ...earlier } : { next: nl + 1, bufferedAt: 0 };
  }
  const corrupt = { next: nl + 1, bufferedAt: 0 };
  if (!chunk.subarray(pos, pos + RECORD_HEADER.length).equals(RECORD_HEADER)) return corrupt;
  if (!parseHeader(chunk, pos, nl, facts, row)) return corrupt;
  const eventEnd = nl + 1 + header.b;
  // Not all read yet (or the torn tail of a crash): the caller reads more, or stops there.
  if (eventEnd >= end) return undefined;
  // The event line must be exactly as long as the header says.
  if (chunk[eventEnd] !== 10 || chunk.indexOf(10, nl + 1) !== eventEnd) return corrupt;
  const envelope = new EncodedEnvelope(header.s, chunk, header.container, nl + 1, eventEnd + 1, facts, row, header.h);
  return { next: eventEnd + 1, envelope, bufferedAt: header.t };
}

interface StoredRecord {
  l: number;
  t: number;
  s: string;
  e: OcsfEvent;
  c?: ContainerRef;
}

/** A record of the earlier one-line format: parsed whole (segments written before an upgrade). */
function parseEarlierRecord(line: string): { envelope: Envelope; bufferedAt: number } | undefined {
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
