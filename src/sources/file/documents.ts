// Whole-document files (scanners' JSON reports): found by the include globs as tailed files are, but read whole, and
// read again whenever they change — a scanner rewrites its report in place, or renames a new one over it; a line
// tail would read the rewrite as garbage appended to the old report. Each content of a path is emitted once: the
// sha256 of the last content every sink acknowledged is the path's checkpoint, so a restart reads every report again
// and skips those already delivered (a report emitted but not acknowledged before a crash is emitted again: at least
// once). A report that does not parse while its file is younger than `settle` is being written: it is read again
// when it changes (or once it settled); one still broken after that is reported once (counted, flagged Base Event).
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { type FileHandle, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Source, SourceContext } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import type { DecodedEvent, DocumentFormat } from '../../formats/decoder.ts';
import { RateLimitedLog } from '../../observability/logger.ts';
import { SerialAtomicWriter } from '../../state/atomic-file.ts';
import { FileDiscovery } from '../tail/discovery.ts';
import { FileGuard, type SymlinkPolicy } from '../tail/file-guard.ts';
import { SkippedPaths } from '../tail/skipped-paths.ts';

export interface DocumentOptions {
  include: string[];
  exclude: string[];
  readFrom: 'beginning' | 'end';
  globInterval: number;
  checkpointInterval: number;
  /** Largest document read; a larger file is reported, not read. */
  maxBytes: number;
  /** A document that does not parse is taken as still being written until its file is this old. */
  settle: number;
  /** Reports are opened as tailed files are: never a FIFO or device, a symlink only within the include bases. */
  followSymlinks: SymlinkPolicy;
}

interface StoreFile {
  version: 1;
  /** Path → sha256 of the content last acknowledged by every sink. */
  documents: Record<string, { hash: string; updated: number }>;
}

/** A path and what was last done with it. */
interface TrackedDocument {
  /** Identity and change stamp of the file when last read: dev, inode, size, mtime, ctime. */
  signature?: string;
  /** Content last emitted (perhaps not acknowledged yet). */
  emitted?: string;
  /** Number of the last emission, so an older emission's acknowledgement never overwrites a newer one's. */
  sequence: number;
  /** Sequence acknowledged last. */
  acknowledged: number;
  /** Set while a document that does not parse waits to settle. */
  waiting?: boolean;
}

const CHECKPOINT_FILE = 'documents.json';
/** Directory events come in bursts while a report is written: one look after the burst. */
const RESCAN_DELAY_MS = 50;

export class DocumentSource implements Source {
  private ctx: SourceContext | undefined;
  private discovery: FileDiscovery | undefined;
  private problems: RateLimitedLog | undefined;
  private readonly documents = new Map<string, TrackedDocument>();
  private checkpoints = new Map<string, { hash: string; updated: number }>();
  private hadCheckpoints = false;
  private dirty = false;
  private readonly writer = new SerialAtomicWriter();
  private firstScan = true;
  private guard: FileGuard | undefined;
  private skipped: SkippedPaths | undefined;
  private readonly stopping = new AbortController();
  /** Ends the wait between two looks (a directory changed, or stop). */
  private wake: (() => void) | undefined;
  /** A directory changed since the last look began. */
  private changed = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly format: DocumentFormat,
    private readonly options: DocumentOptions,
  ) {}

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.problems = new RateLimitedLog(ctx.logger);
    await this.loadCheckpoints();
    this.discovery = new FileDiscovery(this.options.include, this.options.exclude, this.onDirectoryChange, ctx.logger);
    this.guard = new FileGuard(this.discovery.bases(), this.options.followSymlinks);
    this.skipped = new SkippedPaths(ctx);
    await this.scan();
    this.loop = this.lookAgainAndAgain();
    this.checkpointTimer = setInterval(() => void this.saveCheckpoints(), this.options.checkpointInterval);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    clearTimeout(this.wakeTimer);
    clearInterval(this.checkpointTimer);
    this.discovery?.close();
    await this.loop;
  }

  async commit(): Promise<void> {
    await this.saveCheckpoints();
    await this.writer.settled();
  }

  /** Directory events come in bursts while a report is written: one look after the burst. */
  private readonly onDirectoryChange = (): void => {
    this.changed = true;
    this.wakeTimer ??= setTimeout(() => {
      this.wakeTimer = undefined;
      this.wake?.();
    }, RESCAN_DELAY_MS);
  };

  /** A look at the files after each directory change, or after the glob interval, until stopped. */
  private async lookAgainAndAgain(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      if (!this.changed)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.globInterval);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      if (this.stopping.signal.aborted) return;
      this.changed = false;
      await this.scan().catch((err) => this.ctx!.logger.error('document discovery failed', { error: err }));
    }
  }

  /** Problem reporter for the format: counted per reason, logged at most once per interval. */
  private readonly onProblem = (reason: string, detail: string): void => {
    this.ctx!.metrics.inputKeptRaw.inc({ component: this.ctx!.name, reason });
    this.problems!.warn('bad input kept raw', { reason, detail });
  };

  private async loadCheckpoints(): Promise<void> {
    const file = join(this.ctx!.stateDir, CHECKPOINT_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const parsed = JSON.parse(text) as StoreFile;
    if (parsed.version !== 1 || typeof parsed.documents !== 'object')
      throw new Error(`unsupported checkpoint file ${file}`);
    this.checkpoints = new Map(Object.entries(parsed.documents));
    this.hadCheckpoints = true;
  }

  private async saveCheckpoints(): Promise<void> {
    if (!this.dirty || !this.ctx) return;
    this.dirty = false;
    const content = JSON.stringify({
      version: 1,
      documents: Object.fromEntries(this.checkpoints),
    } satisfies StoreFile);
    try {
      await this.writer.write(join(this.ctx.stateDir, CHECKPOINT_FILE), content);
    } catch (err) {
      this.dirty = true;
      this.ctx.logger.error('cannot save document checkpoints', { error: err });
    }
  }

  private async scan(): Promise<void> {
    const ctx = this.ctx!;
    const { candidates } = await this.discovery!.scan();
    await this.guard!.refresh();
    const paths = candidates.map((c) => c.path);
    const seen = new Set(paths);
    this.skipped!.retain(seen);
    for (const path of paths) {
      if (this.stopping.signal.aborted) return;
      try {
        await this.check(path);
      } catch (err) {
        // Gone or unreadable between the glob and the read: the next scan looks again.
        ctx.logger.debug('cannot read document', { path, error: err });
      }
    }
    for (const path of this.documents.keys()) {
      if (seen.has(path)) continue;
      this.documents.delete(path);
      if (this.checkpoints.delete(path)) this.dirty = true;
      ctx.metrics.fileEvents.inc({ component: ctx.name, event: 'deleted' });
    }
    ctx.metrics.filesTailed.set({ component: ctx.name }, this.documents.size);
    this.firstScan = false;
  }

  /** Reads a document when its file changed since it was last read, and emits it when its content is new. */
  private async check(path: string): Promise<void> {
    const outcome = await this.guard!.open(path);
    if (!outcome) return; // gone since the listing, or a dangling link
    if (outcome.skipped) {
      this.skipped!.report(path, outcome.skipped);
      return;
    }
    this.skipped!.clear(path);
    const { fh, stat: st } = outcome.opened;
    try {
      await this.checkOpened(path, fh, st);
    } finally {
      await fh.close();
    }
  }

  private async checkOpened(path: string, fh: FileHandle, st: Stats): Promise<void> {
    const ctx = this.ctx!;
    const signature = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    let doc = this.documents.get(path);
    if (!doc) {
      doc = { sequence: 0, acknowledged: 0 };
      const cp = this.checkpoints.get(path);
      if (cp) doc.emitted = cp.hash;
      this.documents.set(path, doc);
    }
    const now = Date.now();
    if (doc.signature === signature && !(doc.waiting && now - st.mtimeMs >= this.options.settle)) return;
    doc.signature = signature;
    doc.waiting = false;
    if (st.size > this.options.maxBytes) {
      this.onProblem(
        'document_too_large',
        `${path}: ${st.size} bytes, more than max_bytes (${this.options.maxBytes}); not read`,
      );
      return;
    }
    const text = await readWhole(fh, this.options.maxBytes);
    ctx.metrics.bytesRead.inc({ component: ctx.name }, Buffer.byteLength(text));
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === doc.emitted) return;
    if (this.firstScan && !this.hadCheckpoints && this.options.readFrom === 'end') {
      // Reports already there at the very first start count as delivered.
      doc.emitted = hash;
      this.checkpoints.set(path, { hash, updated: now });
      this.dirty = true;
      return;
    }
    const problems: Array<[string, string]> = [];
    const decoded = this.format.decodeDocument(text, {
      source: ctx.name,
      hostname: ctx.hostname,
      path,
      modified: Math.trunc(st.mtimeMs),
      onProblem: (reason, detail) => problems.push([reason, detail]),
    });
    if (problems.some(([reason]) => reason === 'malformed_report') && now - st.mtimeMs < this.options.settle) {
      // Most likely still being written: look again when it changes or settles.
      doc.waiting = true;
      return;
    }
    for (const [reason, detail] of problems) this.onProblem(reason, detail);
    ctx.metrics.eventsRead.inc({ component: ctx.name }, decoded.length);
    ctx.metrics.fileEvents.inc({ component: ctx.name, event: 'read' });
    ctx.logger.info('read document', { path, events: decoded.length, bytes: st.size });
    await this.emit(path, doc, hash, decoded);
  }

  /** Emits one document's events as one batch (a report's findings travel together); its hash becomes the path's
   * checkpoint once every sink acknowledged them. */
  private async emit(path: string, doc: TrackedDocument, hash: string, decoded: DecodedEvent[]): Promise<void> {
    const ctx = this.ctx!;
    const envelopes: Envelope[] = decoded.map((d) =>
      d.container
        ? { event: d.event, source: ctx.name, raw: d.raw, container: d.container }
        : { event: d.event, source: ctx.name, raw: d.raw },
    );
    doc.emitted = hash;
    const sequence = ++doc.sequence;
    await ctx.emit(envelopes, () => {
      if (sequence <= doc.acknowledged) return;
      doc.acknowledged = sequence;
      if (this.documents.get(path) !== doc) return;
      this.checkpoints.set(path, { hash, updated: Date.now() });
      this.dirty = true;
    });
  }
}

/** The file's content, at most `maxBytes` of it (it may have grown since it was looked at). */
async function readWhole(fh: FileHandle, maxBytes: number): Promise<string> {
  const buf = Buffer.allocUnsafe(Math.min(maxBytes, (await fh.stat()).size));
  let length = 0;
  while (length < buf.length) {
    const { bytesRead } = await fh.read(buf, length, buf.length - length, length);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return buf.toString('utf8', 0, length);
}
