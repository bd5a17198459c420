// Decode workers for container logs, and the per-file FileDecoding that uses them. A file's chunks are decoded
// ahead of the read loop and their batches handed back strictly in file order. Consecutive chunks of one file may
// go to different workers: a chunk that starts where the previous one ended cleanly (at a line end, with no partial
// record or multiline group held) decodes the same anywhere. Whether it did end cleanly is known only when that
// chunk's result arrives; if it did not, the chunks sent on that assumption are decoded again after it, on the
// worker that holds its state. Nothing is emitted from a chunk until every earlier chunk is settled. The main thread
// runs the same jobs (decode-jobs.ts) as each chunk is read when there are no workers, and for small chunks (a
// quiet container's few lines) while it has time: workers start the first time a chunk needs them.
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SourceContext } from '../../core/component.ts';
import { type ContainerRef, EncodedEnvelope } from '../../core/envelope.ts';
import type { ContainerLogFormat } from '../../ocsf/mappers/container-log.ts';
import { DEFAULT_REDACTION } from '../../policy/redaction-config.ts';
import { type DecodedBatch, DecodingLost, type FileDecoding } from '../tail/file-decoding.ts';
import { cgroupCpuLimit } from './cpu-quota.ts';
import {
  type DecodeJob,
  DecodeJobRunner,
  type DecodeReply,
  type DecodeRequest,
  type DecodeRunnerData,
} from './decode-jobs.ts';
import { type ContainerDecoderSettings, sniffContainerFormat } from './decoder.ts';
import { containerFromPath } from './path-meta.ts';

/** Chunks of all files decoded ahead of the ones being emitted, per worker (each file may always have one). Enough
 * work queued keeps the workers busy while the main thread waits on a sink (1M-line bench, two workers: 4 in all →
 * 55-63k events/s, 8 → 80k; 16 no faster, +5-15 MB); a bound for the pool, not per file, keeps memory independent
 * of the number of busy files (a chunk is ~0.8 MB in and out). */
const IN_FLIGHT_PER_WORKER = 4;

/** Most workers `decode_threads: auto` starts: each is a V8 heap of its own (~25 MB resident). */
const MAX_AUTO_DECODE_THREADS = 8;

/** Worker threads to start for `decode_threads: auto`, from the CPUs usable (cores, or a container's CPU quota):
 * none on a single one, where they only add overhead; else one per CPU but the main thread's (it reads, orders,
 * writes and acknowledges: 8-13 % of a core per 100k events/s), at least two: on two cores, two workers beside the
 * main thread decode ~1.45× as much as one (1M-line bench). */
export function autoDecodeThreads(cpus = usableCpus()): number {
  if (cpus <= 1) return 0;
  return Math.min(MAX_AUTO_DECODE_THREADS, Math.max(2, Math.floor(cpus) - 1));
}

/** CPUs this process may use: the cores it may run on, and a container's CPU quota when it has one. */
function usableCpus(): number {
  return Math.min(availableParallelism(), cgroupCpuLimit() ?? Number.POSITIVE_INFINITY);
}

/** The slot of the main thread's runner. */
const LOCAL = -1;

/** Share of the main thread's time spent decoding small chunks (over about a second) above which they go to the
 * workers too: many busy files each read a little at a time must not make the main thread the bottleneck. */
const MAX_LOCAL_DECODE_SHARE = 0.25;

interface PooledWorker {
  worker: Worker;
  /** Jobs sent to this worker and not answered. */
  pending: Map<number, { resolve: (r: DecodeReply) => void; reject: (e: Error) => void }>;
}

/** How a job fails when its worker died (as opposed to a decoder error, which is not retried). */
class DecodeWorkerDied extends Error {}

/** Times one file is read again from the same position after losing its worker before tailing it gives up. */
const MAX_RESTARTS_AT_ONE_POSITION = 3;

/**
 * Decodes container log chunks in worker threads, or with no workers on the main thread, synchronously as each chunk
 * is read: the same jobs either way, so events leave as bytes (held in memory until the sinks acknowledge them) rather
 * than as event objects.
 */
export class DecodePool {
  /** Started all at once, the first time a chunk needs them. */
  private readonly workers: PooledWorker[] = [];
  /** The main thread's runner: every chunk with no workers (decode_threads: 0), else small ones. */
  private readonly local: DecodeJobRunner;
  /** Time the main thread spent decoding in the current window, and when that window started (ms). */
  private localBusyMs = 0;
  private localWindowStart = performance.now();
  private localShare = 0;
  private readonly script: URL;
  private readonly execArgv: string[] | undefined;
  private readonly data: DecodeRunnerData;
  private nextJob = 1;
  private nextFile = 1;
  private closing = false;

  constructor(
    private readonly threads: number,
    private readonly settings: ContainerDecoderSettings,
    private readonly ctx: SourceContext,
    /** The size of most chunks (the source's read_chunk_bytes): their copies are pooled. */
    private readonly chunkBytes = 128 * 1024,
    /** Chunks smaller than this are decoded on the main thread while it has time (see MAX_LOCAL_DECODE_SHARE): a
     * quiet container's few lines cost less there than a round trip to a worker, and a node of quiet containers
     * never starts the workers (~35 MB resident for two). Half a chunk: a file being caught up goes to the workers. */
    private readonly smallChunkBytes = chunkBytes / 2,
  ) {
    // The worker is a sibling module: .js when built, .ts when the sources run directly (tests).
    const here = fileURLToPath(import.meta.url);
    this.script = new URL(`./decode-worker${extname(here)}`, import.meta.url);
    this.execArgv =
      extname(here) === '.ts' ? [...process.execArgv, '--experimental-transform-types', '--no-warnings'] : undefined;
    this.data = { settings, source: ctx.name, hostname: ctx.hostname, redaction: ctx.redaction ?? DEFAULT_REDACTION };
    this.local = new DecodeJobRunner(this.data);
  }

  /** Whether decode workers are configured (started yet or not): consecutive chunks of a file may then be decoded
   * in different places. */
  get workersConfigured(): boolean {
    return this.threads > 0;
  }

  private spawn(slot: number): PooledWorker {
    const worker = new Worker(this.script, {
      workerData: this.data,
      ...(this.execArgv ? { execArgv: this.execArgv } : {}),
      // Each event's garbage dies young; a modest young generation keeps a worker's footprint small (32 → 24 MB:
      // peak RSS 184–192 MB over seven bench runs, where 32 went over 200 MB in three of eleven, at the same speed).
      resourceLimits: { maxYoungGenerationSizeMb: 24 },
    });
    const pooled: PooledWorker = { worker, pending: new Map() };
    worker.on('message', (reply: DecodeReply) => {
      const waiter = pooled.pending.get(reply.id);
      pooled.pending.delete(reply.id);
      if (pooled.pending.size === 0) worker.unref();
      if (reply.error) waiter?.reject(new Error(`decode worker failed: ${reply.error}`));
      else waiter?.resolve(reply);
    });
    let failed = false;
    const fail = (err: Error) => {
      if (failed || this.closing) return;
      failed = true;
      // A worker that dies (out of memory, a bug) takes its files' decoding state with it: those files are read
      // again from their last settled position (DecodingLost), by a new worker in its place.
      this.ctx.logger.error('decode worker failed; starting a new one', { error: err, jobs: pooled.pending.size });
      this.ctx.metrics.decodeWorkerEvents.inc({ component: this.ctx.name, event: 'restarted' });
      for (const waiter of pooled.pending.values()) waiter.reject(new DecodeWorkerDied(err.message, { cause: err }));
      pooled.pending.clear();
      worker.terminate().catch(() => undefined);
      this.workers[slot] = this.spawn(slot);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`decode worker exited with code ${code}`)));
    // Idle workers must not keep the process alive; one with work does (see send).
    worker.unref();
    return pooled;
  }

  fileDecoding(path: string): FileDecoding {
    const { format, multiline } = this.settings;
    return new RemoteFileDecoding(
      this,
      this.nextFile++,
      path,
      multiline === undefined,
      format === 'auto' ? undefined : format,
    );
  }

  /** Jobs of all files sent and not yet settled (answered or not): what the pool holds in memory. */
  inFlight = 0;

  /** Jobs the pool may hold before a file waits for its oldest: never fewer than two workers get (the bound the main
   * thread's own decoding was measured with). */
  get maxInFlight(): number {
    return IN_FLIGHT_PER_WORKER * Math.max(2, this.workers.length);
  }

  /** Where a chunk of `bytes` is decoded: the main thread's runner (LOCAL) or the least busy worker. */
  pick(bytes: number): number {
    if (this.threads === 0) return LOCAL;
    if (bytes < this.smallChunkBytes && this.localShareNow() < MAX_LOCAL_DECODE_SHARE) return LOCAL;
    if (this.workers.length === 0) {
      for (let i = 0; i < this.threads; i++) this.workers.push(this.spawn(i));
      this.ctx.logger.debug('decode workers started', { threads: this.threads });
    }
    let best = 0;
    for (let i = 1; i < this.workers.length; i++)
      if (this.workers[i]!.pending.size < this.workers[best]!.pending.size) best = i;
    return best;
  }

  /** The main thread's share of time spent decoding, over the last completed window of about a second. */
  private localShareNow(): number {
    const now = performance.now();
    const elapsed = now - this.localWindowStart;
    if (elapsed >= 1000) {
      this.localShare = this.localBusyMs / elapsed;
      this.localBusyMs = 0;
      this.localWindowStart = now;
    }
    return this.localShare;
  }

  /** The worker now in a slot (a replacement after a failure: it holds no state of earlier jobs). */
  workerIn(slot: number): Worker {
    return this.workers[slot]!.worker;
  }

  send(slot: number, request: DecodeJob): Promise<DecodeReply> {
    if (slot === LOCAL) {
      const started = performance.now();
      const { reply } = this.local.run(request);
      this.localBusyMs += performance.now() - started;
      return reply.error ? Promise.reject(new Error(`decoding failed: ${reply.error}`)) : Promise.resolve(reply);
    }
    const pooled = this.workers[slot]!;
    return new Promise((resolve, reject) => {
      if (pooled.pending.size === 0) pooled.worker.ref();
      pooled.pending.set(request.id, { resolve, reject });
      pooled.worker.postMessage(request);
    });
  }

  closeFile(file: number): void {
    this.local.closeFile(file);
    for (const w of this.workers) w.worker.postMessage({ kind: 'close', file } satisfies DecodeRequest);
  }

  /** Gives an acknowledged batch's bytes back to the worker that wrote them (not to its replacement), for its next
   * jobs: no fresh memory per chunk for the kernel to fault in and zero, and none waiting for the main thread's
   * garbage collector (which let 10-35 MB of written batches pile up on the 1M-line bench). */
  private recycle(slot: number, owner: Worker | DecodeJobRunner, buffer: ArrayBuffer): void {
    // A buffer is never empty unless already given away (detached).
    if (buffer.byteLength === 0) return;
    if (owner === this.local) {
      // Moved to a new ArrayBuffer (no copy): the events' views of the old one become empty, as a transfer to a
      // worker makes them.
      this.local.giveBack((buffer as ArrayBuffer & { transfer(): ArrayBuffer }).transfer());
      return;
    }
    if (this.workers[slot]?.worker !== owner) return;
    owner.postMessage({ kind: 'recycle', buffer } satisfies DecodeRequest, [buffer]);
  }

  jobId(): number {
    return this.nextJob++;
  }

  /** Shared memory for chunks of the usual size, free for the next copy. */
  private readonly spareChunks: SharedArrayBuffer[] = [];

  /**
   * A copy of a chunk for a job: the read buffer is reused, and a job's bytes are kept until it is settled (it may be
   * sent again). Shared memory from a pool: a worker reads it where it is (postMessage copied each chunk again) and,
   * once the job is settled, the next chunk is written into it rather than into fresh pages (each 128 KiB chunk was
   * a new buffer to fault in, then garbage for the main thread's collector: up to 50 MB of it at the peak).
   */
  chunkCopy(chunk: Buffer): Uint8Array {
    const spare = this.spareChunks.pop();
    const buffer =
      spare && spare.byteLength >= chunk.length
        ? spare
        : new SharedArrayBuffer(Math.max(chunk.length, this.chunkBytes));
    const copy = new Uint8Array(buffer, 0, chunk.length);
    copy.set(chunk);
    return copy;
  }

  /** A settled job's chunk: its memory serves the next one (the worker that read it has answered). */
  releaseChunk(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (
      buffer instanceof SharedArrayBuffer &&
      buffer.byteLength === this.chunkBytes &&
      this.spareChunks.length < this.maxInFlight + 2
    )
      this.spareChunks.push(buffer);
  }

  /** Turns the answer of the worker in `slot` into envelopes; counts its problems and redactions. */
  batch(
    reply: DecodeReply,
    slot: number,
    container: ContainerRef | undefined,
    resume: number | undefined,
  ): DecodedBatch {
    const source = this.ctx.name;
    for (const [reason, detail] of reply.problems) this.onProblem(reason, detail);
    for (const [rule, count] of reply.redactions)
      this.ctx.metrics.secretsRedacted.inc({ component: source, rule }, count);
    const envelopes: EncodedEnvelope[] = new Array(reply.events);
    const batch: DecodedBatch = { envelopes, lines: reply.lines };
    if (resume !== undefined) batch.resume = resume;
    if (reply.ndjson) {
      const buffer = reply.ndjson.buffer as ArrayBuffer;
      const all = Buffer.from(buffer, reply.ndjson.byteOffset, reply.ndjson.byteLength);
      const hostname = this.ctx.hostname;
      const hosts = reply.hosts;
      let nextHost = 0;
      let from = 0;
      for (let i = 0; i < reply.events; i++) {
        const end = all.indexOf(10, from) + 1;
        let host = hostname;
        if (hosts !== undefined && hosts[nextHost]?.[0] === i) host = hosts[nextHost++]![1];
        envelopes[i] = new EncodedEnvelope(source, all, container, from, end, reply.facts, i, host);
        from = end;
      }
      const owner = slot === LOCAL ? this.local : this.workerIn(slot);
      batch.release = () => this.recycle(slot, owner, buffer);
    }
    return batch;
  }

  /** A chunk's assumed clean start was wrong: its chunks are decoded again (expected now and then; cheap). */
  onRedo(path: string, chunks: number): void {
    this.ctx.logger.debug('chunks decoded again after a line or record continued across them', { path, chunks });
    this.ctx.metrics.decodeWorkerEvents.inc({ component: this.ctx.name, event: 'redone' }, chunks);
  }

  /** Set by the engine: counts and logs bad input the workers kept raw. */
  onProblem: (reason: string, detail: string) => void = () => {};

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

interface Job {
  id: number;
  worker: number;
  bytes: Uint8Array;
  offset: number;
  /** The file's format as known when the job was first sent (a job decoded again keeps it). */
  format: ContainerLogFormat | undefined;
  /** Decoded on the assumption that the previous job ended cleanly (on another worker, from a fresh state). */
  assumedClean: boolean;
  /** The chunk ends with a newline (a precondition of the next job's clean start). */
  endsAtNewline: boolean;
  reply: Promise<DecodeReply>;
}

/** One file's decoding in the pool. */
class RemoteFileDecoding implements FileDecoding {
  private readonly jobs: Job[] = [];
  /** The newest job sent: the next one continues its state (or, when it may be clean, starts fresh elsewhere). */
  private last: { id: number; worker: number; endsAtNewline: boolean; settled?: { clean: boolean } } | undefined;
  private held: number | undefined;
  /** Where reading starts again if a worker dies: the resume position of the last batch handed to the engine (or,
   * before the first, where decoding started). */
  private restartAt: number | undefined;
  /** End of the last settled chunk. */
  private lastEnd = 0;
  private restartsAt: { position: number; count: number } | undefined;
  private readonly container: ContainerRef | undefined;
  /** Whether the next chunk starts a line (the previous one ended at a newline, or reading starts at a settled
   * position). */
  private atLineStart = true;

  constructor(
    private readonly pool: DecodePool,
    private readonly file: number,
    private readonly path: string,
    /** Multiline groups stay open across chunks: such files are decoded in sequence on one worker. */
    private readonly mayStartClean: boolean,
    /** The file's format: configured, or with `auto` decided here from its first valid record, once for the file (a
     * worker that decodes a chunk from a fresh state must not decide again from the chunk's first line). */
    private format: ContainerLogFormat | undefined,
  ) {
    this.container = containerFromPath(path);
  }

  async decode(chunk: Buffer, offset: number): Promise<{ consumed: number; batches: DecodedBatch[] }> {
    // Cut after the last newline so that the next chunk starts a line; the rest is read again with it. A chunk
    // without any newline (a very long line) goes whole.
    const lastNewline = chunk.lastIndexOf(10);
    const consumed = lastNewline >= 0 ? lastNewline + 1 : chunk.length;
    const bytes = chunk.subarray(0, consumed);
    this.format ??= sniffContainerFormat(bytes, this.atLineStart);
    this.atLineStart = lastNewline >= 0;
    // A copy (from the pool's shared memory): the read buffer is reused, and the bytes are kept until the job is
    // settled (it may be re-sent).
    this.dispatch(this.pool.chunkCopy(bytes), offset, lastNewline >= 0, this.format);
    const batches: DecodedBatch[] = [];
    while (this.jobs.length > 1 && this.pool.inFlight > this.pool.maxInFlight) batches.push(await this.settleOldest());
    return { consumed, batches: this.handOver(batches) };
  }

  async drain(): Promise<DecodedBatch[]> {
    return this.handOver(await this.settleAll());
  }

  private async settleAll(): Promise<DecodedBatch[]> {
    const batches: DecodedBatch[] = [];
    while (this.jobs.length > 0) batches.push(await this.settleOldest());
    return batches;
  }

  /** Batches go to the engine: a worker lost from now on restarts reading after them (settled batches not yet
   * handed over when a worker dies are dropped and read again). */
  private handOver(batches: DecodedBatch[]): DecodedBatch[] {
    const resume = batches.at(-1)?.resume;
    if (resume !== undefined) this.restartAt = resume;
    return batches;
  }

  async flush(mode: 'all' | 'expired', now: number): Promise<DecodedBatch[]> {
    const batches = await this.settleAll();
    const last = this.last;
    // Nothing held: nothing to flush (and no message to a worker on every idle poll).
    if (last?.settled?.clean !== false)
      return this.handOver(mode === 'all' ? [...batches, this.emptyBatch()] : batches);
    const id = this.pool.jobId();
    const reply = await this.pool
      .send(last.worker, { kind: 'flush', id, file: this.file, after: last.id, path: this.path, mode, now })
      .catch((err: unknown) => this.lost(err));
    this.handOver(batches);
    this.held = reply.heldFrom;
    this.restartAt = reply.heldFrom ?? this.lastEnd;
    this.last = { id, worker: last.worker, endsAtNewline: true, settled: { clean: reply.heldFrom === undefined } };
    if (reply.events === 0 && mode === 'expired') return batches;
    return [...batches, this.pool.batch(reply, last.worker, this.container, undefined)];
  }

  heldFrom(): number | undefined {
    return this.held;
  }

  close(): void {
    this.pool.closeFile(this.file);
  }

  private emptyBatch(): DecodedBatch {
    return { envelopes: [], lines: 0 };
  }

  private dispatch(
    bytes: Uint8Array,
    offset: number,
    endsAtNewline: boolean,
    format: ContainerLogFormat | undefined,
  ): void {
    this.restartAt ??= offset;
    const prev = this.last;
    const id = this.pool.jobId();
    let worker: number;
    let after: number | undefined;
    let assumedClean = false;
    if (!prev) {
      worker = this.pool.pick(bytes.length);
    } else if (
      this.mayStartClean &&
      prev.endsAtNewline &&
      prev.settled?.clean !== false &&
      this.pool.workersConfigured
    ) {
      worker = this.pool.pick(bytes.length);
      if (worker === prev.worker) after = prev.id;
      else assumedClean = prev.settled === undefined;
    } else {
      worker = prev.worker;
      after = prev.id;
    }
    // A job sent to a new worker when the previous one is known clean starts clean: no assumption to check.
    const reply = this.pool.send(worker, {
      kind: 'decode',
      id,
      file: this.file,
      ...(after !== undefined ? { after } : {}),
      path: this.path,
      offset,
      bytes,
      ...(format ? { format } : {}),
    });
    // Settled (or re-sent) in order by settleOldest; a rejection is seen there.
    reply.catch(() => undefined);
    this.jobs.push({ id, worker, bytes, offset, format, assumedClean, endsAtNewline, reply });
    this.pool.inFlight++;
    this.last = { id, worker, endsAtNewline };
  }

  /** A job failed: when its worker died, everything in flight is dropped and the engine reads again from the last
   * settled position; a decoder error is not retried. */
  private lost(err: unknown): never {
    if (!(err instanceof DecodeWorkerDied)) throw err;
    // Set since the first chunk was sent (no job can fail before): 0 would only re-read, never skip.
    const position = this.restartAt ?? 0;
    this.restartsAt =
      this.restartsAt?.position === position ? { position, count: this.restartsAt.count + 1 } : { position, count: 1 };
    if (this.restartsAt.count > MAX_RESTARTS_AT_ONE_POSITION)
      throw new Error(`decode workers died ${MAX_RESTARTS_AT_ONE_POSITION} times at offset ${position}`, {
        cause: err,
      });
    this.pool.inFlight -= this.jobs.length;
    this.jobs.length = 0;
    this.last = undefined;
    this.held = undefined;
    this.restartAt = undefined;
    // Reading starts again at a settled position: the start of a line.
    this.atLineStart = true;
    throw new DecodingLost(position, err);
  }

  private async settleOldest(): Promise<DecodedBatch> {
    const job = this.jobs.shift()!;
    this.pool.inFlight--;
    const reply = await job.reply.catch((err: unknown) => this.lost(err));
    const clean = reply.heldFrom === undefined;
    if (this.last?.id === job.id) this.last.settled = { clean };
    const next = this.jobs[0];
    if (!clean && next?.assumedClean) {
      // The assumption failed: every later job is decoded again, continuing from this one's state.
      const redo = this.jobs.splice(0);
      this.pool.inFlight -= redo.length;
      this.pool.onRedo(this.path, redo.length);
      this.last = { id: job.id, worker: job.worker, endsAtNewline: job.endsAtNewline, settled: { clean } };
      for (const j of redo) this.dispatch(j.bytes, j.offset, j.endsAtNewline, j.format);
    }
    this.held = reply.heldFrom;
    // Settled: its worker has read the chunk.
    this.pool.releaseChunk(job.bytes);
    const end = job.offset + job.bytes.length;
    this.lastEnd = end;
    return this.pool.batch(
      reply,
      job.worker,
      this.container,
      reply.heldFrom !== undefined && reply.heldFrom < end ? reply.heldFrom : end,
    );
  }
}
