import { type Dirent, type FSWatcher, watch } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, matchesGlob, resolve, sep } from 'node:path';
import type { Logger } from '../../observability/logger.ts';

const GLOB_CHARS = /[*?[\]{}]/;

/** What a path matching a glob is, from its directory entry (a symlink is looked at when it is opened). */
export type EntryKind = 'file' | 'symlink' | 'directory' | 'fifo' | 'socket' | 'device' | 'unknown';

export interface Candidate {
  path: string;
  kind: EntryKind;
}

/** A directory the walk could not list (no permission, no descriptor left): its files are unknown, not absent. */
export interface DirectoryProblem {
  path: string;
  code: string;
}

export interface ScanResult {
  candidates: Candidate[];
  problems: DirectoryProblem[];
}

function kindOf(d: Dirent): EntryKind {
  if (d.isFile()) return 'file';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isDirectory()) return 'directory';
  if (d.isFIFO()) return 'fifo';
  if (d.isSocket()) return 'socket';
  if (d.isCharacterDevice() || d.isBlockDevice()) return 'device';
  return 'unknown';
}

const absolute = (pattern: string): string => {
  const abs = isAbsolute(pattern) ? pattern : resolve(pattern);
  // A trailing ** means every file below.
  return abs.endsWith(`${sep}**`) ? `${abs}${sep}*` : abs;
};

/** The directory a pattern cannot leave: its levels before the first one with a glob character. */
export function patternBase(pattern: string): string {
  const segments = dirname(absolute(pattern)).split(sep);
  const first = segments.findIndex((s) => GLOB_CHARS.test(s));
  return (first < 0 ? segments : segments.slice(0, first)).join(sep) || sep;
}

/** The directory levels of a file pattern that can gain entries: its static base and every globbed level. */
function directoryPatterns(pattern: string): string[] {
  const segments = dirname(absolute(pattern)).split(sep);
  const first = segments.findIndex((s) => GLOB_CHARS.test(s));
  if (first < 0) return [segments.join(sep) || sep];
  const out = [segments.slice(0, first).join(sep) || sep];
  for (let i = first + 1; i <= segments.length; i++) out.push(segments.slice(0, i).join(sep));
  return out;
}

const quietly = (code: string | undefined) => code === 'ENOENT' || code === 'ENOTDIR';

/**
 * Walks one glob pattern level by level (a segment without glob characters is joined, not listed; `**` is any number
 * of directories, not following symlinks), giving every match with what its directory entry says it is, and every
 * directory it could not list. Dot files match only a segment that names them, as with fs.glob.
 */
class PatternWalk {
  readonly candidates: Candidate[] = [];
  readonly problems: DirectoryProblem[] = [];
  private readonly segments: string[];

  constructor(pattern: string) {
    this.segments = absolute(pattern).split(sep).slice(1);
  }

  async run(): Promise<void> {
    await this.visit(sep, 0);
  }

  private async list(dir: string): Promise<Dirent[]> {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!quietly(code)) this.problems.push({ path: dir, code: code ?? 'EIO' });
      return [];
    }
  }

  private async visit(dir: string, i: number): Promise<void> {
    const segment = this.segments[i]!;
    const last = i === this.segments.length - 1;
    if (!GLOB_CHARS.test(segment)) {
      const path = join(dir, segment);
      if (!last) return this.visit(path, i + 1);
      try {
        const s = await lstat(path);
        this.candidates.push({
          path,
          kind: s.isFile() ? 'file' : s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'directory' : 'unknown',
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!quietly(code)) this.problems.push({ path: dir, code: code ?? 'EIO' });
      }
      return;
    }
    const entries = await this.list(dir);
    if (segment === '**') {
      await this.visit(dir, i + 1);
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await this.visit(join(dir, e.name), i);
      return;
    }
    for (const e of entries) {
      if (!matchesGlob(e.name, segment)) continue;
      const path = join(dir, e.name);
      if (last) this.candidates.push({ path, kind: kindOf(e) });
      else if (e.isDirectory() || e.isSymbolicLink()) await this.visit(path, i + 1);
    }
  }
}

/**
 * Finds the paths matching the include globs (minus the excludes), and notices new ones quickly: inotify watches
 * (fs.watch) on every directory level that can gain matching files ask for a rescan at once, so the log of a
 * container that lives for a second is opened while it exists; a periodic rescan catches anything watches miss.
 */
export class FileDiscovery {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly dirPatterns: string[];
  private watchFailed = false;

  constructor(
    private readonly include: string[],
    private readonly exclude: string[],
    /** `event`: what inotify said (a 'rename' is an entry created, removed or renamed; a 'change' a write); filename
     * undefined with 'rename': the look at a directory just watched. */
    private readonly onDirectoryEvent: (dir: string, filename: string | undefined, event: 'rename' | 'change') => void,
    private readonly logger: Logger,
  ) {
    this.dirPatterns = [...new Set(include.flatMap(directoryPatterns))];
  }

  /** The include patterns' static base directories (see patternBase). */
  bases(): string[] {
    return [...new Set(this.include.map(patternBase))];
  }

  /** Current matching paths (sorted), the directories that could not be listed, and refreshed directory watches. */
  async scan(): Promise<ScanResult> {
    const byPath = new Map<string, Candidate>();
    const problems: DirectoryProblem[] = [];
    for (const pattern of this.include) {
      const walk = new PatternWalk(pattern);
      await walk.run();
      for (const c of walk.candidates)
        if (!byPath.has(c.path) && !this.exclude.some((x) => matchesGlob(c.path, x))) byPath.set(c.path, c);
      problems.push(...walk.problems);
    }
    await this.refreshWatches();
    const candidates = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { candidates, problems };
  }

  private async refreshWatches(): Promise<void> {
    const dirs = new Set<string>();
    for (const p of this.dirPatterns) {
      if (!GLOB_CHARS.test(p)) {
        dirs.add(p);
        continue;
      }
      const walk = new PatternWalk(p);
      await walk.run();
      for (const c of walk.candidates) {
        if (c.kind === 'directory') dirs.add(c.path);
        else if (c.kind === 'symlink' || c.kind === 'unknown') {
          const s = await stat(c.path).catch(() => undefined);
          if (s?.isDirectory()) dirs.add(c.path);
        }
      }
    }
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) if (!this.watchers.has(dir)) this.watchDirectory(dir);
  }

  private watchDirectory(dir: string): void {
    if (this.watchFailed) return;
    try {
      const w = watch(dir, { persistent: false }, (event, filename) =>
        this.onDirectoryEvent(dir, filename ?? undefined, event),
      );
      w.on('error', () => {
        w.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, w);
      // A file created between the scan and this watch would be missed until the next poll: look again.
      this.onDirectoryEvent(dir, undefined, 'rename');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') return;
      // Out of inotify watches (ENOSPC) or not permitted: polling still finds everything, only later.
      this.watchFailed = true;
      this.logger.warn('cannot watch directories; relying on polling only', { dir, error: err });
    }
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
