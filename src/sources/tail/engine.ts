import type { Stats } from 'node:fs';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OrderedCommitTracker } from '../../core/ack.ts';
import type { SourceContext } from '../../core/component.ts';
import { RateLimitedLog } from '../../observability/logger.ts';
import { CheckpointStore, type FileCheckpoint, fileKey } from './checkpoints.ts';
import { FileDiscovery } from './discovery.ts';
import { type DecodedBatch, DecodingLost, type FileDecoding } from './file-decoding.ts';
import { FINGERPRINT_BYTES, type Fingerprint, fingerprintOf } from './fingerprint.ts';

export interface TailOptions {
  include: string[];
  exclude: string[];
  /** For files already there at the very first start (no checkpoint): read them whole, or only what comes next. */
  readFrom: 'beginning' | 'end';
  /** Rescan of the globs (watches make most discoveries immediate). */
  globInterval: number;
  /** Recheck of an idle file at end of data. */
  pollInterval: number;
  /** How long a rotated or deleted file stays open after its last data, for late writes. */
  rotateWait: number;
  readChunkBytes: number;
  checkpointInterval: number;
  /** The decoding of one file (on the main thread or in decode workers; the path tells CRI decoders the pod). */
  createDecoding(path: string): FileDecoding;
}

type FileState = 'live' | 'rotated' | 'deleted';

const MAX_POOLED_READ_BUFFERS = 4;

/** One open file (one inode), read from `offset` to its end and on as it grows. */
class TailedFile {
  readonly key: string;
  state: FileState = 'live';
  offset: number;
  committed: number;
  lastDataAt = Date.now();
  fingerprint: Fingerprint | undefined;
  readonly decoding: FileDecoding;
  readonly tracker: OrderedCommitTracker<number>;
  closed = false;
  private drainedResolve!: () => void;
  /** Resolves once this file was read to its end after it stopped being the live file of its path. */
  readonly drained = new Promise<void>((r) => {
    this.drainedResolve = r;
  });
  private wakeResolve: (() => void) | undefined;

  constructor(
    readonly group: string,
    public path: string,
    readonly fh: FileHandle,
    readonly dev: number,
    readonly ino: number,
    offset: number,
    decoding: FileDecoding,
    readonly predecessor: TailedFile | undefined,
    onCommit: (file: TailedFile, offset: number) => void,
  ) {
    this.key = fileKey(dev, ino);
    this.offset = offset;
    this.committed = offset;
    this.decoding = decoding;
    this.tracker = new OrderedCommitTracker<number>((o) => onCommit(this, o));
  }

  isDrained = false;

  markDrained(): void {
    this.isDrained = true;
    this.drainedResolve();
  }

  wake(): void {
    this.wakeResolve?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeResolve = done;
    });
  }

  /** Where reading may resume once everything emitted so far is acknowledged. */
  resumePosition(): number {
    const held = this.decoding.heldFrom();
    return held !== undefined && held < this.offset ? held : this.offset;
  }
}

/** A file opened by name, identified by what the descriptor points at (the name may change at any moment). */
interface OpenedFile {
  path: string;
  fh: FileHandle;
  stat: Stats;
}

async function openIdentified(path: string): Promise<OpenedFile | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return undefined;
  const st = await fh.stat().catch(() => undefined);
  if (!st?.isFile()) {
    await fh.close();
    return undefined;
  }
  return { path, fh, stat: st };
}

/** Whether an open file still starts with the bytes a checkpoint fingerprinted (not a reused inode). */
async function sameContent(fh: FileHandle, cp: FileCheckpoint): Promise<boolean> {
  if (!cp.fingerprint || !cp.fingerprintBytes) return true;
  const fp = await fingerprintOf(fh, cp.fingerprintBytes);
  return fp?.hash === cp.fingerprint && fp.bytes === cp.fingerprintBytes;
}

interface FileGroup {
  path: string;
  files: TailedFile[];
}

/**
 * Tails the files matching a set of globs with at-least-once semantics: follows rotation by rename and by
 * copytruncate, truncation and deletion; keeps deleted files open until read to the end; persists per-inode
 * checkpoints that advance only when every sink acknowledged; and on restart resumes from them, including files
 * rotated (once or several times) while Outrider was down.
 */
export class TailEngine {
  private readonly groups = new Map<string, FileGroup>();
  private readonly tracked = new Map<string, TailedFile>();
  private readonly loops = new Set<Promise<void>>();
  private readonly readBuffers: Buffer[] = [];
  private readonly store: CheckpointStore;
  private readonly discovery: FileDiscovery;
  private readonly problems: RateLimitedLog;
  private stopping = false;
  private signalStopped!: () => void;
  private readonly stopped = new Promise<void>((r) => {
    this.signalStopped = r;
  });
  private firstScan = true;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private rescanTimer: NodeJS.Timeout | undefined;
  private globTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: TailOptions,
    private readonly ctx: SourceContext,
  ) {
    this.store = new CheckpointStore(join(ctx.stateDir, 'checkpoints.json'));
    this.discovery = new FileDiscovery(
      options.include,
      options.exclude,
      (dir, filename, event) => this.onDirectoryEvent(dir, filename, event),
      ctx.logger,
    );
    this.problems = new RateLimitedLog(ctx.logger);
  }

  async start(): Promise<void> {
    await this.store.load();
    await this.scan();
    this.globTimer = setInterval(() => this.requestScan(), this.options.globInterval);
    this.checkpointTimer = setInterval(() => this.saveCheckpoints(), this.options.checkpointInterval);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.signalStopped();
    clearInterval(this.globTimer);
    clearInterval(this.checkpointTimer);
    clearTimeout(this.rescanTimer);
    this.discovery.close();
    await this.scanning;
    for (const f of this.tracked.values()) f.wake();
    await Promise.all(this.loops);
  }

  /** Persists checkpoints and closes every file (after the sinks drained). */
  async commit(): Promise<void> {
    await this.store.save();
    for (const f of this.tracked.values()) await f.fh.close().catch(() => undefined);
  }

  /** Problem reporter for decoders: counted per reason, logged at most once per interval. */
  readonly onProblem = (reason: string, detail: string): void => {
    this.ctx.metrics.eventsFailed.inc({ component: this.ctx.name, reason });
    this.problems.warn('bad input kept raw', { reason, detail });
  };

  private saveCheckpoints(): void {
    let lag = 0;
    for (const f of this.tracked.values()) lag += Math.max(0, f.offset - f.committed);
    this.ctx.metrics.checkpointLagBytes.set({ component: this.ctx.name }, lag);
    this.store.save().catch((err) => this.ctx.logger.error('cannot save checkpoints', { error: err }));
  }

  private onDirectoryEvent(dir: string, filename: string | undefined, event: 'rename' | 'change'): void {
    for (const f of this.tracked.values()) if (dirname(f.path) === dir) f.wake();
    // A file written to is read by the wake-up; only entries that come, go or move change what a scan finds (a scan
    // on every write cost a readdir and a stat of every watched directory and file per burst of lines).
    if (this.stopping || (event === 'change' && filename !== undefined)) return;
    // A watched path renamed or replaced is a rotation: look at once, before a fast writer rotates again and the
    // oldest rotated file (not yet opened) is deleted.
    if (filename !== undefined && this.groups.has(join(dir, filename))) {
      clearTimeout(this.rescanTimer);
      this.rescanTimer = undefined;
      this.requestScan();
      return;
    }
    if (this.rescanTimer) return;
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = undefined;
      this.requestScan();
    }, 5);
  }

  private requestScan(): void {
    if (this.stopping) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err) => this.ctx.logger.error('file discovery failed', { error: err }))
      .finally(() => {
        this.scanning = undefined;
        if (this.rescan) {
          this.rescan = false;
          this.requestScan();
        }
      });
  }

  private async scan(): Promise<void> {
    const started = Date.now();
    const paths = await this.discovery.scan();
    this.ctx.logger.debug('scanned', { files: paths.length, took_ms: Date.now() - started });
    const seen = new Set<string>();
    for (const path of paths) {
      if (this.stopping) return;
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      seen.add(path);
      const key = fileKey(st.dev, st.ino);
      const group = this.groups.get(path);
      if (!group) {
        // The same inode reachable under two matched names (a symlink, a rotated copy) is read once.
        if (this.tracked.has(key)) continue;
        await this.openGroup(path);
        continue;
      }
      const newest = group.files[group.files.length - 1];
      if (newest && newest.key !== key && !this.tracked.has(key)) await this.rotate(group, newest, path);
    }
    for (const [path, group] of this.groups) {
      if (seen.has(path)) continue;
      for (const f of group.files) if (f.state === 'live') this.markGone(f, 'deleted');
      this.groups.delete(path);
    }
    this.firstScan = false;
  }

  private markGone(file: TailedFile, state: 'rotated' | 'deleted'): void {
    file.state = state;
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: state });
    this.ctx.logger.debug(`file ${state}`, { path: file.path });
    file.wake();
  }

  /** A path now names a new file: finish the old one first, then any rotated file we never saw, then the new one. */
  private async rotate(group: FileGroup, old: TailedFile, path: string): Promise<void> {
    if (old.state === 'live') this.markGone(old, 'rotated');
    const oldStat = await old.fh.stat().catch(() => undefined);
    let prev: TailedFile = old;
    for (const sib of await this.untrackedSiblings(path, oldStat?.mtimeMs ?? 0)) {
      prev = (await this.addFile(group, sib, 0, prev, 'rotated')) ?? prev;
    }
    const current = await openIdentified(path);
    // Renamed between our looks (it is then among the siblings) or already read under another name: the next scan
    // sees whatever the path names by then.
    if (current) await this.addFile(group, current, 0, prev, 'live');
  }

  /**
   * Files next to `path` named like its rotations (`name.1`, `name.2024…`), not tracked, changed at or after
   * `since`, opened, oldest first. Identity comes from the open descriptor, never from the name: a rotating writer
   * renames files while we look. Compressed rotations cannot be tailed: they are reported as lost.
   */
  private async untrackedSiblings(path: string, since: number): Promise<OpenedFile[]> {
    const dir = dirname(path);
    const base = `${basename(path)}.`;
    const out: OpenedFile[] = [];
    const keys = new Set<string>();
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(base)) continue;
      const p = join(dir, name);
      if (/\.(gz|zst|bz2|xz)$/.test(name)) {
        const s = await stat(p).catch(() => undefined);
        if (s && s.mtimeMs >= since && !this.tracked.has(fileKey(s.dev, s.ino))) {
          this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'lost' });
          this.ctx.logger.warn('a rotated file was compressed before it was read; its unread lines are lost', {
            path: p,
          });
        }
        continue;
      }
      const opened = await openIdentified(p);
      if (!opened) continue;
      const key = fileKey(opened.stat.dev, opened.stat.ino);
      if (opened.stat.mtimeMs < since || this.tracked.has(key) || keys.has(key)) {
        await opened.fh.close();
        continue;
      }
      keys.add(key);
      out.push(opened);
    }
    return out.sort((a, b) => a.stat.mtimeMs - b.stat.mtimeMs);
  }

  /** First sight of a path: resume what checkpoints say, including files rotated away while Outrider was down. */
  private async openGroup(path: string): Promise<void> {
    const live = await openIdentified(path);
    if (!live) return;
    const group: FileGroup = { path, files: [] };
    this.groups.set(path, group);
    const key = fileKey(live.stat.dev, live.stat.ino);
    let prev: TailedFile | undefined;
    let current: FileCheckpoint | undefined;
    let rotatedWhileDown = false;
    let oldestRotatedMtime = Number.POSITIVE_INFINITY;
    for (const cp of this.store.forGroup(path)) {
      const cpKey = fileKey(cp.dev, cp.ino);
      if (cpKey === key) {
        if (cp.offset <= live.stat.size && (await sameContent(live.fh, cp))) {
          current = cp;
          continue;
        }
        // Truncated (or replaced on a reused inode) while down: a copytruncate copy may hold the unread rest.
        this.store.delete(cpKey);
        const copy = cp.fingerprint
          ? await this.findCopy(path, { hash: cp.fingerprint, bytes: cp.fingerprintBytes ?? 0 }, cp.offset)
          : undefined;
        if (copy) {
          rotatedWhileDown = true;
          prev = (await this.addFile(group, copy, cp.offset, prev, 'rotated')) ?? prev;
        }
        continue;
      }
      rotatedWhileDown = true;
      const found = await this.findByInode(path, cp);
      if (!found) {
        this.store.delete(cpKey);
        this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'lost' });
        this.ctx.logger.warn('a file rotated while Outrider was down is gone; its unread lines are lost', {
          path: cp.path,
          unread_from: cp.offset,
        });
        oldestRotatedMtime = Math.min(oldestRotatedMtime, cp.updated);
        continue;
      }
      oldestRotatedMtime = Math.min(oldestRotatedMtime, found.stat.mtimeMs);
      prev = (await this.addFile(group, found, cp.offset, prev, 'rotated')) ?? prev;
    }
    if (rotatedWhileDown) {
      for (const sib of await this.untrackedSiblings(path, oldestRotatedMtime)) {
        if (fileKey(sib.stat.dev, sib.stat.ino) === key) {
          await sib.fh.close();
          continue;
        }
        prev = (await this.addFile(group, sib, 0, prev, 'rotated')) ?? prev;
      }
    }
    let offset = 0;
    if (current) offset = current.offset;
    else if (this.firstScan && !rotatedWhileDown && this.options.readFrom === 'end') offset = live.stat.size;
    await this.addFile(group, live, offset, prev, 'live');
  }

  /** The file a checkpoint names, wherever rotation moved it in its directory (same inode and content). */
  private async findByInode(group: string, cp: FileCheckpoint): Promise<OpenedFile | undefined> {
    const dir = dirname(group);
    const names = (await readdir(dir).catch(() => [] as string[])).map((n) => join(dir, n));
    for (const p of [cp.path, ...names]) {
      const s = await stat(p).catch(() => undefined);
      if (!s?.isFile() || s.dev !== cp.dev || s.ino !== cp.ino) continue;
      const opened = await openIdentified(p);
      if (!opened) continue;
      if (opened.stat.dev === cp.dev && opened.stat.ino === cp.ino && (await sameContent(opened.fh, cp))) return opened;
      await opened.fh.close();
    }
    return undefined;
  }

  /** Starts following an opened file; closes it and returns undefined when that inode is already followed. */
  private async addFile(
    group: FileGroup,
    opened: OpenedFile,
    offset: number,
    predecessor: TailedFile | undefined,
    state: FileState,
  ): Promise<TailedFile | undefined> {
    const { fh, stat: st, path } = opened;
    if (this.tracked.has(fileKey(st.dev, st.ino))) {
      await fh.close();
      return undefined;
    }
    let start = offset;
    if (start > st.size) {
      this.ctx.logger.warn('file is shorter than its checkpoint; reading from the start', { path });
      start = 0;
    }
    const file = new TailedFile(
      group.path,
      path,
      fh,
      st.dev,
      st.ino,
      start,
      this.options.createDecoding(path),
      predecessor,
      (f, o) => this.onCommitted(f, o),
    );
    file.state = state;
    file.fingerprint = await fingerprintOf(fh);
    group.files.push(file);
    this.tracked.set(file.key, file);
    this.persist(file);
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'opened' });
    this.ctx.metrics.filesTailed.set({ component: this.ctx.name }, this.tracked.size);
    this.ctx.logger.info('tailing file', { path, offset: file.offset, state });
    const loop = this.follow(file)
      .catch((err) => this.ctx.logger.error('tailing failed', { path, error: err }))
      .finally(() => this.loops.delete(loop));
    this.loops.add(loop);
    return file;
  }

  private persist(file: TailedFile): void {
    const cp: FileCheckpoint = {
      group: file.group,
      path: file.path,
      dev: file.dev,
      ino: file.ino,
      offset: file.committed,
      updated: Date.now(),
    };
    if (file.fingerprint) {
      cp.fingerprint = file.fingerprint.hash;
      cp.fingerprintBytes = file.fingerprint.bytes;
    }
    this.store.set(cp);
  }

  private onCommitted(file: TailedFile, offset: number): void {
    file.committed = offset;
    if (file.closed && offset >= file.offset) {
      // Read to the end, closed and fully acknowledged: nothing to resume.
      this.store.delete(file.key);
      return;
    }
    this.persist(file);
  }

  /** The read loop of one file. */
  private async follow(file: TailedFile): Promise<void> {
    if (file.predecessor) await Promise.race([file.predecessor.drained, this.stopped]);
    while (!this.stopping) {
      try {
        // Only a read that started after the rotation was noticed proves the old file is complete (the writer
        // finishes with a file before renaming it); a read in flight while it was noticed may have missed the end.
        const stateAtRead = file.state;
        // Read buffers come from a small shared pool and are held only while a read is consumed: thousands of idle
        // files must not each pin a chunk of memory.
        const buf = this.readBuffers.pop() ?? Buffer.allocUnsafe(this.options.readChunkBytes);
        let bytesRead: number;
        try {
          ({ bytesRead } = await file.fh.read(buf, 0, buf.length, file.offset));
          if (bytesRead > 0) await this.consume(file, buf.subarray(0, bytesRead));
        } finally {
          if (this.readBuffers.length < MAX_POOLED_READ_BUFFERS) this.readBuffers.push(buf);
        }
        if (bytesRead > 0) continue;
        // At the end of the data, what is still being decoded goes out before the file waits or is handed over.
        await this.emitBatches(file, await file.decoding.drain());
        if (stateAtRead === 'live' && file.state !== 'live') continue;
        if (file.state !== 'live') {
          if (!file.isDrained) {
            await this.flushHeld(file);
            file.markDrained();
          }
          if (Date.now() - file.lastDataAt >= this.options.rotateWait) {
            await this.finish(file);
            return;
          }
        } else {
          const st = await file.fh.stat();
          if (st.size < file.offset) {
            await this.truncated(file, st);
            continue;
          }
        }
        await this.emitBatches(file, await file.decoding.flush('expired', Date.now()));
        await file.sleep(this.options.pollInterval);
      } catch (err) {
        if (!(err instanceof DecodingLost)) throw err;
        // Nothing past the last settled position was emitted: reading it again loses and duplicates nothing.
        this.ctx.logger.warn('decoding state lost; reading the file again from the last settled position', {
          path: file.path,
          from: err.resumeAt,
          was_at: file.offset,
          error: err,
        });
        file.offset = err.resumeAt;
      }
    }
  }

  private async consume(file: TailedFile, chunk: Buffer): Promise<void> {
    const { consumed, batches } = await file.decoding.decode(chunk, file.offset);
    file.offset += consumed;
    file.lastDataAt = Date.now();
    if (!file.fingerprint || file.fingerprint.bytes < FINGERPRINT_BYTES)
      file.fingerprint = await fingerprintOf(file.fh);
    this.ctx.metrics.bytesRead.inc({ component: this.ctx.name }, consumed);
    await this.emitBatches(file, batches);
  }

  private async emitBatches(file: TailedFile, batches: DecodedBatch[], always = false): Promise<void> {
    for (const batch of batches) {
      if (batch.lines > 0) this.ctx.metrics.eventsRead.inc({ component: this.ctx.name }, batch.lines);
      if (batch.envelopes.length === 0 && batch.resume === undefined && !always) continue;
      const ack = file.tracker.track(batch.resume ?? file.resumePosition());
      const release = batch.release;
      await this.ctx.emit(
        batch.envelopes,
        release
          ? () => {
              ack();
              release();
            }
          : ack,
      );
    }
  }

  /** copytruncate: first read what the copy holds beyond our offset (written after our last read, before the
   * truncation), then start again at 0. */
  private async truncated(file: TailedFile, st: Stats): Promise<void> {
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'truncated' });
    const copy = file.fingerprint ? await this.findCopy(file.path, file.fingerprint, file.offset) : undefined;
    if (copy) {
      try {
        const buf = Buffer.allocUnsafe(this.options.readChunkBytes);
        for (;;) {
          const { bytesRead } = await copy.fh.read(buf, 0, buf.length, file.offset);
          if (bytesRead === 0) break;
          await this.consume(file, buf.subarray(0, bytesRead));
        }
      } finally {
        await copy.fh.close();
      }
    }
    this.ctx.logger.info('file truncated; reading from the start', {
      path: file.path,
      size: st.size,
      copy: copy?.path,
    });
    await this.flushHeld(file, () => {
      file.offset = 0;
      file.fingerprint = undefined;
    });
  }

  /**
   * Emits what the file holds back (an unterminated last line, partial records, a multiline group). Used when a
   * file's stream ends: truncation, hand-over to the next file after rotation (so the next file's lines cannot
   * overtake them), and close. `beforeEmit` changes the file's state before its resume position is taken.
   */
  private async flushHeld(file: TailedFile, beforeEmit?: () => void): Promise<void> {
    await this.emitBatches(file, await file.decoding.drain());
    const held = await file.decoding.flush('all', Date.now());
    beforeEmit?.();
    await this.emitBatches(file, held, beforeEmit !== undefined);
  }

  /** An untracked file next to `path` that starts like it did (same fingerprint) and is at least `minSize` long:
   * the copy a copytruncate rotation made. Returned open. */
  private async findCopy(path: string, fingerprint: Fingerprint, minSize: number): Promise<OpenedFile | undefined> {
    const dir = dirname(path);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, name);
      if (p === path) continue;
      const opened = await openIdentified(p);
      if (!opened) continue;
      const { stat: s, fh } = opened;
      if (s.size >= minSize && !this.tracked.has(fileKey(s.dev, s.ino))) {
        const fp = await fingerprintOf(fh, fingerprint.bytes);
        if (fp?.hash === fingerprint.hash) return opened;
      }
      await fh.close();
    }
    return undefined;
  }

  /** A rotated or deleted file read to its end and idle: deliver what is held, then let it go. */
  private async finish(file: TailedFile): Promise<void> {
    await this.flushHeld(file, () => {
      file.closed = true;
    });
    await file.fh.close().catch(() => undefined);
    file.decoding.close();
    this.tracked.delete(file.key);
    const group = this.groups.get(file.group);
    if (group) group.files = group.files.filter((f) => f !== file);
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'closed' });
    this.ctx.metrics.filesTailed.set({ component: this.ctx.name }, this.tracked.size);
    this.ctx.logger.info('finished file', { path: file.path, state: file.state, bytes: file.offset });
  }
}
