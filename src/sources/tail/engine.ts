import { fstatSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OrderedCommitTracker } from '../../core/ack.ts';
import type { SourceContext } from '../../core/component.ts';
import { RateLimitedLog } from '../../observability/logger.ts';
import { ProblemState } from '../../observability/problem-state.ts';
import { CheckpointStore, type FileCheckpoint, fileKey } from './checkpoints.ts';
import { DescriptorBudget, openFileLimit, tailedFilesCapacity } from './descriptors.ts';
import { type DirectoryProblem, FileDiscovery } from './discovery.ts';
import { type DecodedBatch, DecodingLost, type FileDecoding } from './file-decoding.ts';
import { FileGuard, kindOfStats, missingPermission, type OpenedFile, type SymlinkPolicy } from './file-guard.ts';
import { FINGERPRINT_BYTES, type Fingerprint, fingerprintOf } from './fingerprint.ts';
import { SkippedPaths } from './skipped-paths.ts';

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
  /** Most descriptors the tailed files hold at once (lowered to what the process's limit leaves). */
  maxOpenFiles: number;
  /** Whether a path whose resolved target lies outside the include patterns' base directories is read. */
  followSymlinks: SymlinkPolicy;
  /** Whether /readyz reports the source degraded while its globs match no file at all (unreadable paths always are). */
  whenNoFile: 'degraded' | 'ready';
  /** The decoding of one file (on the main thread or in decode workers; the path tells CRI decoders the pod). */
  createDecoding(path: string): FileDecoding;
}

type FileState = 'live' | 'rotated' | 'deleted';

const MAX_POOLED_READ_BUFFERS = 4;

/** How often a file closed while idle looks at its own path, should every wake-up have been missed. */
const CLOSED_FILE_RECHECK_MS = 30_000;

/** A live file that stays quiet is checked less and less often, down to every this many poll_intervals (2 s with
 * the default): directory watches wake it at once when it is written, polling only backs them up (a file reached
 * through a symlink or on a network filesystem gets no events). */
const MAX_IDLE_POLL_FACTOR = 8;

/** How long a running source may find nothing it can read before it says so (at start: at once). A redeploy that
 * replaces every container must not turn /readyz red. */
const BLIND_GRACE_MS = 10_000;

/** One file (one inode), read from `offset` to its end and on as it grows. */
class TailedFile {
  readonly key: string;
  state: FileState = 'live';
  offset: number;
  committed: number;
  lastDataAt = Date.now();
  fingerprint: Fingerprint | undefined;
  /** Size and modification time when last looked at (by its descriptor, or by name while it has none). */
  size = 0;
  mtimeMs = 0;
  readonly decoding: FileDecoding;
  readonly tracker: OrderedCommitTracker<number>;
  closed = false;
  private drainedResolve!: () => void;
  /** Resolves once this file was read to its end after it stopped being the live file of its path. */
  readonly drained = new Promise<void>((r) => {
    this.drainedResolve = r;
  });
  private wakeResolve: (() => void) | undefined;
  /** A wake-up that came while the file was not asleep (it was reading): its next sleep returns at once. */
  private wokenAwake = false;
  /** Empty reads in a row of a live file: its polls slow down (see MAX_IDLE_POLL_FACTOR). */
  quietPolls = 0;

  constructor(
    readonly group: string,
    public path: string,
    /** Undefined while the file is closed to keep descriptors for others (see DescriptorBudget). */
    public fh: FileHandle | undefined,
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
    if (this.wakeResolve) this.wakeResolve();
    else this.wokenAwake = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.wokenAwake) {
      this.wokenAwake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakeResolve = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeResolve = done;
    });
  }

  /** Where reading may resume once everything emitted so far is acknowledged. */
  resumePosition(): number {
    const held = this.decoding.heldFrom();
    return held !== undefined && held < this.offset ? held : this.offset;
  }
}

/** Whether an open file still starts with the bytes a checkpoint fingerprinted (not a reused inode). */
async function sameContent(
  fh: FileHandle,
  cp: Pick<FileCheckpoint, 'fingerprint' | 'fingerprintBytes'>,
): Promise<boolean> {
  if (!cp.fingerprint || !cp.fingerprintBytes) return true;
  const fp = await fingerprintOf(fh, cp.fingerprintBytes);
  return fp?.hash === cp.fingerprint && fp.bytes === cp.fingerprintBytes;
}

/** Whether nothing exists at `path` any more (as opposed to: it could not be looked at). */
async function isGone(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}

interface FileGroup {
  path: string;
  files: TailedFile[];
}

/**
 * Tails the files matching a set of globs with at-least-once semantics: follows rotation by rename and by
 * copytruncate, truncation and deletion; keeps deleted files open until read to the end; persists per-inode
 * checkpoints that advance only when every sink acknowledged; and on restart resumes from them, including files
 * rotated (once or several times) while Outrider was down. Reads only regular files, by default only inside the
 * include patterns' base directories; holds at most max_open_files descriptors, closing idle files and opening them
 * again by identity; says when it can read nothing at all.
 */
export class TailEngine {
  private readonly groups = new Map<string, FileGroup>();
  private readonly tracked = new Map<string, TailedFile>();
  /** Tracked files by the name they were opened under: a directory event names the file it is about. */
  private readonly byPath = new Map<string, Set<TailedFile>>();
  /** Checkpoints written by an earlier run, not yet matched to a file: only these can name files rotated while down. */
  private readonly previousRun = new Set<string>();
  private readonly loops = new Set<Promise<void>>();
  private readonly readBuffers: Buffer[] = [];
  private readonly store: CheckpointStore;
  private readonly discovery: FileDiscovery;
  private readonly guard: FileGuard;
  private readonly skipped: SkippedPaths;
  private readonly budget: DescriptorBudget<TailedFile>;
  private readonly problems: RateLimitedLog;
  private readonly checkpointProblem: ProblemState;
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
  private descriptorsExhausted = false;
  private lastOutOfDescriptors = 0;
  /** Since when no file could be read, and the reason /readyz was given (set while degraded). */
  private blindSince: number | undefined;
  private blindReason: string | undefined;

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
    this.guard = new FileGuard(this.discovery.bases(), options.followSymlinks);
    this.skipped = new SkippedPaths(ctx);
    this.problems = new RateLimitedLog(ctx.logger);
    this.checkpointProblem = new ProblemState(ctx.logger, 'cannot save checkpoints');
    const limit = openFileLimit();
    const capacity = tailedFilesCapacity(options.maxOpenFiles, limit);
    if (capacity < options.maxOpenFiles)
      ctx.logger.info('holding fewer files open than max_open_files, to leave descriptors to the rest of Outrider', {
        max_open_files: options.maxOpenFiles,
        holding_at_most: capacity,
        process_limit: limit,
      });
    this.budget = new DescriptorBudget<TailedFile>(capacity, (f) => this.closeIdle(f));
  }

  async start(): Promise<void> {
    await this.store.load();
    for (const cp of this.store.all()) this.previousRun.add(fileKey(cp.dev, cp.ino));
    this.requestScan();
    await this.scanning;
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
    this.budget.wakeAll();
    for (const f of this.tracked.values()) f.wake();
    await Promise.all(this.loops);
  }

  /** Persists checkpoints and closes every file (after the sinks drained). */
  async commit(): Promise<void> {
    await this.store.save();
    for (const f of this.tracked.values()) await f.fh?.close().catch(() => undefined);
  }

  /** Problem reporter for decoders: counted per reason, logged at most once per interval. */
  readonly onProblem = (reason: string, detail: string): void => {
    this.ctx.metrics.inputKeptRaw.inc({ component: this.ctx.name, reason });
    this.problems.warn('bad input kept raw', { reason, detail });
  };

  private saveCheckpoints(): void {
    let lag = 0;
    for (const f of this.tracked.values()) lag += Math.max(0, f.offset - f.committed);
    this.ctx.metrics.checkpointLagBytes.set({ component: this.ctx.name }, lag);
    this.store.save().then(
      () => {
        if (!this.checkpointProblem.failing) return;
        this.checkpointProblem.ok();
        this.ctx.setHealthy(true);
      },
      (err: unknown) => {
        // Every interval on a full disk: logged when it starts and ends (with the count), not each time.
        this.checkpointProblem.fail(err);
        this.ctx.setHealthy(false, `cannot save checkpoints: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  /**
   * A directory event: `change` (data written) wakes the file of that name; `rename` (a name created, removed or
   * renamed) asks for a scan; `filename` undefined: a new watch, which asks for a look at the directory.
   */
  private onDirectoryEvent(dir: string, filename: string | undefined, event: 'rename' | 'change'): void {
    if (filename !== undefined) {
      const files = this.byPath.get(join(dir, filename));
      if (files) for (const f of files) f.wake();
      if (event === 'change') return;
    }
    if (this.stopping) return;
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

  /** Scans run one at a time (two at once would open the same new file twice); a request during one runs after it. */
  private requestScan(): void {
    if (this.stopping) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scanUntilQuiet();
  }

  private async scanUntilQuiet(): Promise<void> {
    do {
      this.rescan = false;
      try {
        await this.scan();
      } catch (err) {
        this.ctx.logger.error('file discovery failed', { error: err });
      }
    } while (this.rescan && !this.stopping);
    this.scanning = undefined;
  }

  private async scan(): Promise<void> {
    const started = Date.now();
    const { candidates, problems } = await this.discovery.scan();
    await this.guard.refresh();
    this.ctx.logger.debug('scanned', { files: candidates.length, took_ms: Date.now() - started });
    /** Regular files (or links to them) at the matched paths now. */
    const present = new Set<string>();
    const matched = new Set<string>();
    for (const { path, kind } of candidates) {
      if (this.stopping) return;
      matched.add(path);
      if (kind === 'directory' || kind === 'fifo' || kind === 'socket' || kind === 'device') {
        this.skipped.report(path, { reason: kind, fields: {} });
        continue;
      }
      let st: Stats;
      try {
        st = await stat(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') {
          present.add(path);
          this.skipped.report(path, {
            reason: 'permission_denied',
            fields: { needs: await missingPermission(path), code },
          });
        }
        // Else gone since the listing, or a dangling link: nothing to read.
        continue;
      }
      const other = kindOfStats(st);
      if (other) {
        this.skipped.report(path, { reason: other, fields: {} });
        continue;
      }
      present.add(path);
      const key = fileKey(st.dev, st.ino);
      const group = this.groups.get(path);
      if (!group || group.files.length === 0) {
        // The same inode reachable under two matched names (a symlink and its target, a rotated copy) is read once.
        if (this.tracked.has(key)) continue;
        await this.openGroup(path, group);
        continue;
      }
      const newest = group.files[group.files.length - 1]!;
      if (newest.key !== key) {
        if (!this.tracked.has(key)) await this.rotate(group, newest, path);
      } else if (newest.state !== 'live') {
        // Back at its path (it was away for a moment): the live file again.
        newest.state = 'live';
      } else if (!newest.fh && st.size !== newest.offset) {
        // Closed while idle, and written to since.
        newest.wake();
      }
    }
    for (const [path, group] of this.groups) {
      if (present.has(path)) continue;
      // Gone only when nothing is there any more: a directory that could not be listed (no permission, no descriptor
      // left) says nothing about its files.
      if (!(await isGone(path))) continue;
      for (const f of group.files) if (f.state === 'live') this.markGone(f, 'deleted');
      if (group.files.length === 0) this.groups.delete(path);
    }
    for (const p of problems) await this.directoryProblem(p);
    if (this.descriptorsExhausted && this.lastOutOfDescriptors < started) {
      this.descriptorsExhausted = false;
      this.budget.resize(tailedFilesCapacity(this.options.maxOpenFiles));
      this.ctx.logger.info('file descriptors available again', { files_open: this.budget.held });
    }
    for (const p of problems) matched.add(p.path);
    this.skipped.retain(matched);
    this.ctx.metrics.filesMatched.set({ component: this.ctx.name }, present.size);
    this.assessReadability(problems);
    this.firstScan = false;
  }

  private async directoryProblem(p: DirectoryProblem): Promise<void> {
    if (p.code === 'EMFILE' || p.code === 'ENFILE') this.outOfDescriptors(p.code);
    else if (p.code === 'EACCES' || p.code === 'EPERM')
      this.skipped.report(p.path, {
        reason: 'permission_denied',
        fields: { needs: await missingPermission(p.path, true), code: p.code },
      });
    else this.problems.warn('cannot list a directory the include globs pass through', { path: p.path, code: p.code });
  }

  /**
   * A source that can read nothing is degraded in /readyz, with the reason: at start at once, later after
   * BLIND_GRACE_MS. It recovers by itself when a file can be read again.
   */
  private assessReadability(problems: DirectoryProblem[]): void {
    if (this.tracked.size > 0) {
      this.blindSince = undefined;
      if (this.blindReason !== undefined) {
        this.blindReason = undefined;
        this.ctx.setHealthy(true);
        this.ctx.logger.info('reading files again', { files: this.tracked.size });
      }
      return;
    }
    const now = Date.now();
    this.blindSince ??= now;
    // Once degraded, a new reason is said at once.
    if (this.blindReason === undefined && !this.firstScan && now - this.blindSince < BLIND_GRACE_MS) return;
    const { reason, nothingMatches } = this.blindness(problems);
    if (reason === this.blindReason) return;
    this.blindReason = reason;
    // A file the node may not have (auth.log on a journald-only host): said and counted (files_matched 0), ready.
    const tolerated = nothingMatches && this.options.whenNoFile === 'ready';
    if (!tolerated) this.ctx.setHealthy(false, reason);
    else this.ctx.setHealthy(true);
    this.ctx.logger.warn('this source can read no file', {
      reason,
      include: this.options.include,
      ...(tolerated ? { readiness: 'ready (when_no_file: ready)' } : {}),
    });
  }

  private blindness(problems: DirectoryProblem[]): { reason: string; nothingMatches: boolean } {
    const denied = [...this.skipped.entries()].filter(([, s]) => s.reason === 'permission_denied');
    const uid = process.getuid?.();
    const as = uid === undefined ? '' : `; Outrider runs as uid ${uid}`;
    const dir = problems.find((p) => p.code !== 'EMFILE' && p.code !== 'ENFILE');
    if (dir) {
      const needs = denied.find(([path]) => path === dir.path)?.[1].fields.needs;
      return {
        reason: `cannot list ${dir.path}: ${dir.code}${needs ? ` (needs ${needs}${as})` : ''}`,
        nothingMatches: false,
      };
    }
    const [path, skipped] = denied[0] ?? [];
    if (path && skipped)
      return {
        reason: `no matching file is readable: ${path}: permission denied (needs ${skipped.fields.needs}${as})`,
        nothingMatches: false,
      };
    const [other, why] = this.skipped.entries().next().value ?? [];
    if (other && why)
      return { reason: `every matching path is skipped, e.g. ${other} (${why.reason})`, nothingMatches: false };
    return { reason: `no file matches ${this.options.include.join(', ')}`, nothingMatches: true };
  }

  /** Opens a path for reading if it may be read; says once per path why not. */
  private async openFile(path: string): Promise<OpenedFile | undefined> {
    const outcome = await this.guard.open(path);
    if (!outcome) return undefined;
    if (outcome.skipped) {
      if (outcome.skipped.reason === 'too_many_open_files') this.outOfDescriptors(outcome.skipped.fields.code);
      else this.skipped.report(path, outcome.skipped);
      return undefined;
    }
    this.skipped.clear(path);
    return outcome.opened;
  }

  /** EMFILE or ENFILE: said once per episode, with the limit and what to change; the files are tried again at the next
   * scan, never taken for deleted. Until a scan passes without it, this source holds no more descriptors than now. */
  private outOfDescriptors(code: unknown): void {
    this.lastOutOfDescriptors = Date.now();
    if (this.descriptorsExhausted) return;
    this.descriptorsExhausted = true;
    this.budget.resize(this.budget.held);
    this.ctx.metrics.filesSkipped.inc({ component: this.ctx.name, reason: 'too_many_open_files' });
    this.ctx.logger.warn('too many open files: new log files are opened when descriptors free up', {
      code,
      process_limit: openFileLimit(),
      held_by_this_source: this.budget.held,
      hint: 'raise the open-file limit (ulimit -n, systemd LimitNOFILE=, docker run --ulimit nofile=N:N) or lower max_open_files',
    });
  }

  private markGone(file: TailedFile, state: 'rotated' | 'deleted'): void {
    file.state = state;
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: state });
    this.ctx.logger.debug(`file ${state}`, { path: file.path });
    file.wake();
  }

  /**
   * A path now names a new file: finish the old one first, then any rotated file we never saw, then the new one. The
   * new one is opened first: a file the path named a moment ago (the scan saw it) may have been rotated again since,
   * and is then among the rotated files looked for after.
   */
  private async rotate(group: FileGroup, old: TailedFile, path: string): Promise<void> {
    if (old.state === 'live') this.markGone(old, 'rotated');
    const oldStat = await old.fh?.stat().catch(() => undefined);
    const current = await this.openFile(path);
    const currentKey = current && fileKey(current.stat.dev, current.stat.ino);
    let prev: TailedFile = old;
    for (const sib of await this.untrackedSiblings(path, oldStat?.mtimeMs ?? old.mtimeMs)) {
      // Renamed since we opened it: it is still the newest file, added last.
      if (fileKey(sib.stat.dev, sib.stat.ino) === currentKey) {
        await sib.fh.close();
        continue;
      }
      prev = (await this.addFile(group, sib, 0, prev, 'rotated')) ?? prev;
    }
    // Already read under another name, or gone: the next scan sees whatever the path names by then.
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
      const opened = await this.openFile(p);
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

  /** First sight of a path: resume what checkpoints of an earlier run say, including files rotated away while
   * Outrider was down. `group`: the path's group, kept while its last file was read to its end. */
  private async openGroup(path: string, existing: FileGroup | undefined): Promise<void> {
    const live = await this.openFile(path);
    if (!live) return;
    const group: FileGroup = existing ?? { path, files: [] };
    this.groups.set(path, group);
    const key = fileKey(live.stat.dev, live.stat.ino);
    let prev: TailedFile | undefined;
    let current: FileCheckpoint | undefined;
    let rotatedWhileDown = false;
    let oldestRotatedMtime = Number.POSITIVE_INFINITY;
    for (const cp of this.store.forGroup(path)) {
      const cpKey = fileKey(cp.dev, cp.ino);
      // A file of this run is followed as it is (a path that went away for a moment during a rotation is no restart).
      if (!this.previousRun.delete(cpKey)) continue;
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
      const found = await this.findByInode(cp.path, cp.dev, cp.ino);
      if (found === 'unavailable') {
        // There, but not openable now (no descriptor left, no permission): the whole path is looked at again at the
        // next scan.
        this.previousRun.add(cpKey);
        for (const f of group.files) f.wake();
        if (group.files.length === 0) this.groups.delete(path);
        await live.fh.close();
        return;
      }
      rotatedWhileDown = true;
      if (!found || !(await sameContent(found.fh, cp))) {
        await found?.fh.close();
        this.store.delete(cpKey);
        oldestRotatedMtime = Math.min(oldestRotatedMtime, cp.updated);
        if (cp.complete) {
          this.ctx.logger.debug('a rotated file read to its end before the stop is gone', { path: cp.path });
          continue;
        }
        this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'lost' });
        this.ctx.logger.warn(
          'a file rotated while Outrider was down is gone; lines written to it after the stop are lost',
          {
            path: cp.path,
            unread_from: cp.offset,
          },
        );
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

  /**
   * The file with this inode in the directory of `path`, under that name or the one rotation gave it, opened;
   * 'unavailable' when it is there but cannot be opened now (no permission, no descriptor left).
   */
  private async findByInode(path: string, dev: number, ino: number): Promise<OpenedFile | 'unavailable' | undefined> {
    let unavailable = false;
    const at = async (p: string): Promise<OpenedFile | undefined> => {
      const s = await stat(p).catch(() => undefined);
      if (!s?.isFile() || s.dev !== dev || s.ino !== ino) return undefined;
      const opened = await this.openFile(p);
      if (opened?.stat.dev === dev && opened.stat.ino === ino) return opened;
      await opened?.fh.close();
      unavailable ||= opened === undefined;
      return undefined;
    };
    const named = await at(path);
    if (named) return named;
    const dir = dirname(path);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, name);
      const found = p === path ? undefined : await at(p);
      if (found) return found;
    }
    return unavailable ? 'unavailable' : undefined;
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
    file.size = st.size;
    file.mtimeMs = st.mtimeMs;
    // Claimed before anything is awaited: this inode is followed once.
    group.files.push(file);
    this.tracked.set(file.key, file);
    this.index(file);
    file.fingerprint = await fingerprintOf(fh);
    // A file of a rotation (rotated, or the new file that follows one) keeps its descriptor even beyond
    // max_open_files: it may be renamed and deleted before its turn, and a deleted file's inode (number) may then
    // name another file. The live file of a path can be opened again by name: closed until its turn when none is
    // free.
    if (state !== 'live' || predecessor) this.budget.force();
    else if (!this.budget.tryAcquire()) {
      file.fh = undefined;
      await fh.close().catch(() => undefined);
    }
    this.persist(file);
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'opened' });
    this.updateFileGauges();
    this.ctx.logger.info('tailing file', { path, offset: file.offset, state });
    const loop = this.follow(file)
      .catch((err) => this.ctx.logger.error('tailing failed', { path, error: err }))
      .finally(() => this.loops.delete(loop));
    this.loops.add(loop);
    return file;
  }

  private index(file: TailedFile): void {
    let files = this.byPath.get(file.path);
    if (!files) {
      files = new Set();
      this.byPath.set(file.path, files);
    }
    files.add(file);
  }

  private unindex(file: TailedFile): void {
    const files = this.byPath.get(file.path);
    files?.delete(file);
    if (files?.size === 0) this.byPath.delete(file.path);
  }

  private updateFileGauges(): void {
    this.ctx.metrics.filesTailed.set({ component: this.ctx.name }, this.tracked.size);
    this.ctx.metrics.filesOpen.set({ component: this.ctx.name }, this.budget.held);
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
    if (file.isDrained && file.committed >= file.offset) cp.complete = true;
    this.store.set(cp);
  }

  private onCommitted(file: TailedFile, offset: number): void {
    file.committed = offset;
    if (file.closed && offset >= file.offset) {
      // Read to the end, closed and fully acknowledged: nothing to resume (unless the inode number now names a new
      // file, whose checkpoint this is).
      if (!this.tracked.has(file.key)) this.store.delete(file.key);
      return;
    }
    this.persist(file);
  }

  /** The budget takes an idle file's descriptor for another file: it is opened again when it has data. */
  private closeIdle(file: TailedFile): void {
    const fh = file.fh;
    if (!fh) return;
    file.fh = undefined;
    fh.close().catch(() => undefined);
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'idle_closed' });
    this.ctx.metrics.filesOpen.set({ component: this.ctx.name }, this.budget.held);
  }

  /** Whether a live file closed while idle has something to read (its name looked at, no descriptor used). A rotated
   * or deleted one is opened again to be read to its end. */
  private async mayHaveData(file: TailedFile): Promise<boolean> {
    if (file.state !== 'live') return true;
    const st = await stat(file.path).catch(() => undefined);
    // Gone or renamed: the scan tells a rotation from a deletion, and wakes it.
    if (!st || st.dev !== file.dev || st.ino !== file.ino) return false;
    file.size = st.size;
    return st.size !== file.offset || st.mtimeMs !== file.mtimeMs;
  }

  /**
   * Opens a closed file again, by identity (device, inode, and its first bytes: the same content): once a descriptor
   * is free for a live file; at once for a rotated or deleted one, which must be read before it goes. 'gone': it was
   * deleted meanwhile (and is finished); 'later': it cannot be opened now, or the source stops.
   */
  private async reopen(file: TailedFile): Promise<'open' | 'gone' | 'later'> {
    if (file.state === 'live') {
      const granted = await Promise.race([this.budget.acquire().then(() => true), this.stopped.then(() => false)]);
      if (!granted || this.stopping) return 'later';
    } else {
      this.budget.force();
    }
    const found = await this.findByInode(file.path, file.dev, file.ino);
    // The same inode with other first bytes: deleted while closed and its inode number reused by a new file (or
    // truncated and written again): not this file any more. The scan reads the new one as a new file.
    const { fingerprint } = file;
    const opened =
      typeof found === 'object' &&
      fingerprint &&
      !(await sameContent(found.fh, { fingerprint: fingerprint.hash, fingerprintBytes: fingerprint.bytes }))
        ? await found.fh.close().then(() => undefined)
        : found;
    if (opened === undefined || opened === 'unavailable') {
      this.budget.release(file);
      if (opened === 'unavailable') return 'later';
      await this.goneWhileClosed(file);
      return 'gone';
    }
    if (opened.path !== file.path) {
      this.unindex(file);
      file.path = opened.path;
      this.index(file);
    }
    file.fh = opened.fh;
    file.mtimeMs = opened.stat.mtimeMs;
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'reopened' });
    this.updateFileGauges();
    return 'open';
  }

  /** A file closed while idle was deleted (or rotated away and deleted) before it could be opened again. Lines are
   * known lost only when it was seen longer than what was read. */
  private async goneWhileClosed(file: TailedFile): Promise<void> {
    const unread = file.size - file.offset;
    if (unread > 0) {
      this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'lost' });
      this.ctx.logger.warn(
        'a file closed while idle was gone before it could be read again; its unread lines are lost',
        {
          path: file.path,
          unread_from: file.offset,
          lost_bytes: unread,
        },
      );
    }
    if (file.state === 'live') this.markGone(file, 'deleted');
    await this.finish(file);
  }

  /** The read loop of one file. */
  private async follow(file: TailedFile): Promise<void> {
    if (file.predecessor) await Promise.race([file.predecessor.drained, this.stopped]);
    while (!this.stopping) {
      try {
        if (!file.fh) {
          await this.emitBatches(file, await file.decoding.flush('expired', Date.now()));
          const reopened = (await this.mayHaveData(file)) ? await this.reopen(file) : 'idle';
          if (reopened === 'gone' || this.stopping) return;
          if (reopened === 'later') {
            await file.sleep(this.options.pollInterval);
            continue;
          }
          if (reopened === 'idle') {
            // Woken when it has news: a directory event, the scan (which looks at its size every glob_interval), a
            // rotation or deletion; not polled by itself, as thousands of closed files would cost — unless it holds
            // a partial record or a multiline group, whose timeout must be kept.
            await file.sleep(
              file.decoding.heldFrom() === undefined ? CLOSED_FILE_RECHECK_MS : this.options.pollInterval,
            );
            continue;
          }
        }
        // Its descriptor is not taken while it reads.
        this.budget.busy(file);
        const fh = file.fh!;
        // Only a read that started after the rotation was noticed proves the old file is complete (the writer
        // finishes with a file before renaming it); a read in flight while it was noticed may have missed the end.
        const stateAtRead = file.state;
        // Read buffers come from a small shared pool and are held only while a read is consumed: thousands of idle
        // files must not each pin a chunk of memory.
        const buf = this.readBuffers.pop() ?? Buffer.allocUnsafe(this.options.readChunkBytes);
        let bytesRead: number;
        try {
          // Synchronous, as Fluent Bit's reads are: a log file just written is in the page cache, and a read through
          // the thread pool costs two thread hand-offs and a loop wake-up, most of the CPU when a node's many
          // containers each write a little.
          bytesRead = readSync(fh.fd, buf, 0, buf.length, file.offset);
          if (bytesRead > 0) await this.consume(file, fh, buf.subarray(0, bytesRead));
        } finally {
          if (this.readBuffers.length < MAX_POOLED_READ_BUFFERS) this.readBuffers.push(buf);
        }
        // A short read of a live file is its end for now (the size check below catches a write meanwhile); a file
        // being rotated away is complete only once a read returns nothing (see stateAtRead).
        if (bytesRead === buf.length || (bytesRead > 0 && stateAtRead !== 'live')) continue;
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
          const st = fstatSync(fh.fd);
          file.size = st.size;
          file.mtimeMs = st.mtimeMs;
          if (st.size < file.offset) {
            await this.truncated(file, st);
            continue;
          }
          if (st.size > file.offset) continue;
        }
        await this.emitBatches(file, await file.decoding.flush('expired', Date.now()));
        // A live file can be opened again by name: its descriptor may go to a file that needs one meanwhile.
        if (file.state === 'live') this.budget.idle(file);
        await file.sleep(this.idlePollDelay(file));
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

  /** The wait before a file at its end reads again: poll_interval, doubling with each empty read in a row up to
   * MAX_IDLE_POLL_FACTOR times it — but never longer while it holds a partial record or multiline group, whose
   * timeout must be kept. */
  private idlePollDelay(file: TailedFile): number {
    const { pollInterval } = this.options;
    if (file.decoding.heldFrom() !== undefined) return pollInterval;
    const delay = pollInterval * Math.min(MAX_IDLE_POLL_FACTOR, 2 ** file.quietPolls);
    if (delay < pollInterval * MAX_IDLE_POLL_FACTOR) file.quietPolls++;
    return delay;
  }

  private async consume(file: TailedFile, fh: FileHandle, chunk: Buffer): Promise<void> {
    const { consumed, batches } = await file.decoding.decode(chunk, file.offset);
    file.offset += consumed;
    file.lastDataAt = Date.now();
    file.quietPolls = 0;
    if (!file.fingerprint || file.fingerprint.bytes < FINGERPRINT_BYTES) file.fingerprint = await fingerprintOf(fh);
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
          await this.consume(file, copy.fh, buf.subarray(0, bytesRead));
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
      const opened = await this.openFile(p);
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

  /** A rotated or deleted file read to its end and idle (or gone while closed): deliver what is held, then let it go. */
  private async finish(file: TailedFile): Promise<void> {
    await this.flushHeld(file, () => {
      file.closed = true;
    });
    const fh = file.fh;
    if (fh) {
      file.fh = undefined;
      this.budget.release(file);
      await fh.close().catch(() => undefined);
    }
    file.decoding.close();
    this.tracked.delete(file.key);
    this.unindex(file);
    const group = this.groups.get(file.group);
    if (group) group.files = group.files.filter((f) => f !== file);
    if (!file.isDrained) file.markDrained();
    this.ctx.metrics.fileEvents.inc({ component: this.ctx.name, event: 'closed' });
    this.updateFileGauges();
    this.ctx.logger.info('finished file', { path: file.path, state: file.state, bytes: file.offset });
  }
}
