// The decoding of container log chunks: bytes in, NDJSON of redacted OCSF events out. Splitting, parsing, mapping,
// masking and encoding are the CPU-heavy part of tailing. One runner serves a decode worker (decode-worker.ts), or
// the main thread when there are no workers (decode-pool.ts): the same jobs, the same bytes.
import { type Envelope, encodeEvent, FACTS, writeFacts } from '../../core/envelope.ts';
import type { DecodeContext, DecodedEvent } from '../../formats/decoder.ts';
import type { OcsfEvent } from '../../ocsf/event.ts';
import { assignEventUid } from '../../ocsf/event-uid.ts';
import type { ContainerLogFormat } from '../../ocsf/mappers/container-log.ts';
import type { RedactionConfig } from '../../policy/redaction-config.ts';
import { Redactor } from '../../policy/redactor.ts';
import { LineDecoding } from '../tail/file-decoding.ts';
import { type ContainerDecoderSettings, type ContainerLogDecoder, createContainerDecoder } from './decoder.ts';

export interface DecodeRunnerData {
  settings: ContainerDecoderSettings;
  source: string;
  hostname: string;
  redaction: RedactionConfig;
}

/** `after`: the job whose end state this one continues (absent: the file's bytes start clean here). `format`: the
 * file's format, once known (with `format: auto`, decided once per file by the pool, not by each job). */
export type DecodeRequest =
  | {
      kind: 'decode';
      id: number;
      file: number;
      after?: number;
      path: string;
      offset: number;
      bytes: Uint8Array;
      format?: ContainerLogFormat;
    }
  | { kind: 'flush'; id: number; file: number; after?: number; path: string; mode: 'all' | 'expired'; now: number }
  | { kind: 'close'; file: number }
  /** The bytes of an acknowledged reply, given back for reuse. */
  | { kind: 'recycle'; buffer: ArrayBuffer };

export type DecodeJob = Exclude<DecodeRequest, { kind: 'close' | 'recycle' }>;

export interface DecodeReply {
  id: number;
  /** The events' JSON, each followed by a newline. */
  ndjson?: Uint8Array;
  /** The events' facts, a row of FACTS numbers per event (see writeFacts): what sinks frame them with. In the same
   * buffer as `ndjson`, after it. */
  facts?: Float64Array;
  /** Events whose device.hostname is not the runner's: [index, host name or '' for none]. */
  hosts?: Array<[number, string]>;
  events: number;
  lines: number;
  /** Offset of the oldest byte held back at the end of the job (a partial line or record); absent: nothing held. */
  heldFrom?: number;
  problems: Array<[reason: string, detail: string]>;
  redactions: Array<[rule: string, count: number]>;
  error?: string;
}

/** What one file's decoding holds between jobs when it ended inside a line or a record. */
interface FileState {
  lines: LineDecoding;
  decoder: ContainerLogDecoder;
  ctx: DecodeContext;
  problems: Array<[string, string]>;
}

// End states of one file's jobs, by job id: kept only for jobs that ended holding something, and only the newest
// few (a state is picked up by the very next job of the file, or dropped when the pool re-plans).
const MAX_STATES_PER_FILE = 16;

/** Bytes of reply buffers given back (see DecodePool.recycle) a runner keeps for its next jobs:
 * a bound in bytes, so that the buffers of a burst of huge lines are not kept for ever. */
const MAX_SPARE_BYTES = 8 * 1024 * 1024;
/** Replies of full chunks (hundreds of KB) reuse buffers, sized in steps so that one fits the next chunk's events
 * too. Smaller replies (a few lines of a quiet container) get a buffer of their exact size, as many may wait for a
 * sink's batch at once. */
const RECYCLED_REPLY_BYTES = 64 * 1024;
const REPLY_BUFFER_STEP = 256 * 1024;

/** Events' JSON written as UTF-8 as soon as each is encoded: no string of a job outlives its event. One writer
 * serves every job of the runner; each job's bytes leave as a copy in a reply buffer (a recycled one when one fits). */
class NdjsonWriter {
  private buf = Buffer.allocUnsafeSlow(2 * 1024 * 1024);
  private length = 0;
  private readonly spare: ArrayBuffer[] = [];
  private spareBytes = 0;
  private facts = new Float64Array(4096 * FACTS);
  /** Events whose device.hostname differs from the runner's (most carry the runner's own). */
  hosts: Array<[number, string]> = [];
  count = 0;

  constructor(private readonly hostname: string) {}

  giveBack(buffer: ArrayBuffer): void {
    if (buffer.byteLength < RECYCLED_REPLY_BYTES || buffer.byteLength > MAX_SPARE_BYTES) return;
    // The oldest spares make room: one that fits no reply any more (left by long lines) does not stay for ever.
    while (this.spareBytes + buffer.byteLength > MAX_SPARE_BYTES) this.spareBytes -= this.spare.shift()!.byteLength;
    this.spare.push(buffer);
    this.spareBytes += buffer.byteLength;
  }

  reset(): void {
    this.length = 0;
    this.count = 0;
    this.hosts = [];
  }

  add(event: OcsfEvent, json: string): void {
    if ((this.count + 1) * FACTS > this.facts.length) {
      const grown = new Float64Array(this.facts.length * 2);
      grown.set(this.facts);
      this.facts = grown;
    }
    writeFacts(event, this.facts, this.count);
    const host = (event.device as { hostname?: unknown } | undefined)?.hostname;
    if (host !== this.hostname) this.hosts.push([this.count, typeof host === 'string' ? host : '']);
    // A UTF-16 code unit takes at most 3 bytes in UTF-8 (a surrogate pair 4 for two units), plus the newline.
    const worst = json.length * 3 + 1;
    if (this.length + worst > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + worst));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.length += this.buf.write(json, this.length);
    this.buf[this.length++] = 10;
    this.count++;
  }

  /** The job's events' JSON and, after it (8-byte aligned), their facts, in one reply buffer (a recycled one when
   * one fits): one allocation and one transfer per job, given back whole once acknowledged. */
  reply(): { ndjson: Uint8Array; facts: Float64Array } {
    const length = this.length;
    const factsAt = Math.ceil(length / 8) * 8;
    const size = factsAt + this.count * FACTS * 8;
    let target: ArrayBuffer;
    // A spare no more than twice the size needed: a big one left by a burst of long lines is not pinned by a reply
    // of ordinary size.
    const at =
      size < RECYCLED_REPLY_BYTES
        ? -1
        : this.spare.findIndex((b) => b.byteLength >= size && b.byteLength <= 2 * size + REPLY_BUFFER_STEP);
    if (at >= 0) {
      target = this.spare.splice(at, 1)[0]!;
      this.spareBytes -= target.byteLength;
    } else if (size < RECYCLED_REPLY_BYTES) target = new ArrayBuffer(size);
    else target = new ArrayBuffer(Math.ceil(size / REPLY_BUFFER_STEP) * REPLY_BUFFER_STEP);
    const ndjson = new Uint8Array(target, 0, length);
    ndjson.set(this.buf.subarray(0, length));
    const facts = new Float64Array(target, factsAt, this.count * FACTS);
    facts.set(this.facts.subarray(0, this.count * FACTS));
    return { ndjson, facts };
  }
}

/** Runs decode jobs for one thread, keeping each file's held state between its jobs. */
export class DecodeJobRunner {
  private readonly redactor: Redactor | undefined;
  private readonly states = new Map<number, Map<number, FileState>>();
  private readonly ndjson: NdjsonWriter;

  constructor(private readonly data: DecodeRunnerData) {
    this.ndjson = new NdjsonWriter(data.hostname);
    const redactor = new Redactor(data.redaction);
    this.redactor = redactor.inactive ? undefined : redactor;
  }

  /** The reply, and the buffers it owns (a worker transfers them). A decoder error becomes the reply's `error`. */
  run(job: DecodeJob): { reply: DecodeReply; transfer: ArrayBuffer[] } {
    try {
      return this.decode(job);
    } catch (err) {
      const reply: DecodeReply = { id: job.id, events: 0, lines: 0, problems: [], redactions: [] };
      reply.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      return { reply, transfer: [] };
    }
  }

  closeFile(file: number): void {
    this.states.delete(file);
  }

  /** An acknowledged reply's buffer, for the next replies. */
  giveBack(buffer: ArrayBuffer): void {
    this.ndjson.giveBack(buffer);
  }

  private freshState(path: string): FileState {
    const { data } = this;
    const ctx: DecodeContext = {
      source: data.source,
      hostname: data.hostname,
      path,
      onProblem: (reason, detail) => state.problems.push([reason, detail]),
    };
    const decoder = createContainerDecoder(data.settings, ctx, undefined);
    const state: FileState = {
      lines: new LineDecoding(data.settings.max_line_bytes, decoder),
      decoder,
      problems: [],
      ctx,
    };
    return state;
  }

  private takeState(file: number, after: number | undefined, path: string): FileState {
    const saved = after === undefined ? undefined : this.states.get(file)?.get(after);
    if (saved) this.states.get(file)!.delete(after!);
    return saved ?? this.freshState(path);
  }

  private keepState(file: number, id: number, state: FileState): void {
    let byJob = this.states.get(file);
    if (!byJob) {
      byJob = new Map();
      this.states.set(file, byJob);
    }
    byJob.set(id, state);
    if (byJob.size > MAX_STATES_PER_FILE) byJob.delete(byJob.keys().next().value!);
  }

  private decode(request: DecodeJob): { reply: DecodeReply; transfer: ArrayBuffer[] } {
    const { data, ndjson, redactor } = this;
    const state = this.takeState(request.file, request.after, request.path);
    state.problems = [];
    // Each event is masked and encoded as soon as it is decoded: its objects die young, only its JSON is kept.
    const out: DecodedEvent[] = [];
    ndjson.reset();
    const redactions = new Map<string, number>();
    const encodeOut = () => {
      for (let i = 0; i < out.length; i++) {
        const d = out[i]!;
        const envelope: Envelope = { event: d.event, source: data.source, raw: d.raw };
        // A line of one record is cleared by scans of that record and the strings its mapper composed.
        const clean = redactor?.clearsByRecord(d, state.ctx.path, data.hostname) === true;
        if (redactor && !clean)
          for (const r of redactor.redactEnvelope(envelope)) redactions.set(r.rule, (redactions.get(r.rule) ?? 0) + 1);
        if (d.container) envelope.container = d.container;
        assignEventUid(envelope);
        ndjson.add(envelope.event, encodeEvent(envelope));
      }
      out.length = 0;
    };
    let lines = 0;
    if (request.kind === 'decode') {
      if (request.format) state.decoder.decide(request.format);
      const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
      lines = state.lines.feed(bytes, request.offset, out, encodeOut);
    } else {
      state.lines.flush(request.mode, request.now, out);
    }
    encodeOut();
    const held = state.lines.heldFrom();
    if (held !== undefined) this.keepState(request.file, request.id, state);
    const events = ndjson.count;
    const reply: DecodeReply = {
      id: request.id,
      events,
      lines,
      problems: state.problems,
      redactions: [...redactions],
    };
    if (held !== undefined) reply.heldFrom = held;
    const transfer: ArrayBuffer[] = [];
    if (events > 0) {
      const { ndjson: bytes, facts } = ndjson.reply();
      reply.ndjson = bytes;
      reply.facts = facts;
      if (ndjson.hosts.length > 0) reply.hosts = ndjson.hosts;
      transfer.push(bytes.buffer as ArrayBuffer);
    }
    return { reply, transfer };
  }
}
