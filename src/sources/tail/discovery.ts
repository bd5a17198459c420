import { type FSWatcher, watch } from 'node:fs';
import { glob, stat } from 'node:fs/promises';
import { dirname, isAbsolute, matchesGlob, resolve, sep } from 'node:path';
import type { Logger } from '../../observability/logger.ts';

const GLOB_CHARS = /[*?[\]{}]/;

/** The directory levels of a file pattern that can gain entries: its static base and every globbed level. */
function directoryPatterns(pattern: string): string[] {
  const abs = isAbsolute(pattern) ? pattern : resolve(pattern);
  const segments = dirname(abs).split(sep);
  const first = segments.findIndex((s) => GLOB_CHARS.test(s));
  if (first < 0) return [segments.join(sep) || sep];
  const out = [segments.slice(0, first).join(sep) || sep];
  for (let i = first + 1; i <= segments.length; i++) out.push(segments.slice(0, i).join(sep));
  return out;
}

/**
 * Finds the files matching the include globs (minus the excludes), and notices new ones quickly: inotify watches
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
    /** `change`: a file's content (or attributes) changed; `rename`: an entry appeared, went or was moved. */
    private readonly onDirectoryEvent: (dir: string, filename: string | undefined, event: 'rename' | 'change') => void,
    private readonly logger: Logger,
  ) {
    this.dirPatterns = [...new Set(include.flatMap(directoryPatterns))];
  }

  /** Current matching files (absolute paths), and refreshed directory watches. */
  async scan(): Promise<string[]> {
    const files = new Set<string>();
    for (const pattern of this.include) {
      for await (const f of glob(isAbsolute(pattern) ? pattern : resolve(pattern))) {
        if (!this.exclude.some((x) => matchesGlob(f, x))) files.add(f);
      }
    }
    await this.refreshWatches();
    return [...files].sort();
  }

  private async refreshWatches(): Promise<void> {
    const dirs = new Set<string>();
    for (const p of this.dirPatterns) {
      if (!GLOB_CHARS.test(p)) {
        dirs.add(p);
        continue;
      }
      for await (const d of glob(p)) {
        const s = await stat(d).catch(() => undefined);
        if (s?.isDirectory()) dirs.add(d);
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
      if (code === 'ENOENT') return;
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
