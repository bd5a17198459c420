// How a tailing source opens a file: only a regular file, never blocking on a FIFO or touching a device, and by default
// never one that a symlink (or a symlinked directory) leads to outside the include patterns' base directories — in a
// shared log volume anyone who can write may plant `app.log -> /etc/shadow`.
import { constants, type Stats } from 'node:fs';
import { access, type FileHandle, open, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, sep } from 'node:path';

export type SymlinkPolicy = 'within_include' | 'always';

/** Why a path matching the include globs is not read (a metric label). */
export type SkipReason =
  | 'symlink_outside_include'
  | 'fifo'
  | 'socket'
  | 'device'
  | 'directory'
  | 'permission_denied'
  | 'too_many_open_files';

/** A file opened by name, identified by what the descriptor points at (the name may change at any moment). */
export interface OpenedFile {
  path: string;
  fh: FileHandle;
  stat: Stats;
}

export interface Skipped {
  reason: SkipReason;
  /** What the log says about it (the symlink's target, the permission missing). */
  fields: Record<string, unknown>;
}

/** An open file, a path not to read (and why), or nothing: the path is gone (or is a dangling link). */
export type OpenOutcome =
  | { opened: OpenedFile; skipped?: undefined }
  | { opened?: undefined; skipped: Skipped }
  | undefined;

export function kindOfStats(s: Stats): SkipReason | undefined {
  if (s.isFile()) return undefined;
  if (s.isDirectory()) return 'directory';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  return 'device';
}

// Non-blocking: opening a FIFO for reading would wait for a writer (a race may swap a checked file for one); no
// controlling terminal from a tty.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** What permission a path lacks: search (x) on the first directory on its way that denies it, else read on a file,
 * read and search on a directory. */
export async function missingPermission(path: string, directory = false): Promise<string> {
  const dirs: string[] = [];
  for (let d = dirname(path); ; d = dirname(d)) {
    dirs.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const d of dirs) {
    const searchable = await access(d, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (!searchable) return `search (x) permission on ${d}`;
  }
  return directory ? `read and search (r-x) permission on ${path}` : `read (r) permission on ${path}`;
}

export class FileGuard {
  private roots: string[] = [];

  constructor(
    /** The include patterns' static base directories. */
    private readonly bases: string[],
    private readonly policy: SymlinkPolicy,
  ) {}

  /** The base directories as they resolve now (a base may be a symlink itself, or appear later). */
  async refresh(): Promise<void> {
    if (this.policy === 'always') return;
    const roots: string[] = [];
    for (const b of this.bases) {
      const real = await realpath(b).catch(() => undefined);
      if (real) roots.push(real);
    }
    this.roots = roots;
  }

  private inside(real: string): boolean {
    return this.roots.some((r) => real === r || real.startsWith(r === sep ? r : `${r}${sep}`));
  }

  private outside(target: string): Skipped {
    return {
      reason: 'symlink_outside_include',
      fields: {
        target,
        include_dirs: this.bases,
        hint: 'add the target directory to include, or set follow_symlinks: always',
      },
    };
  }

  private failed(path: string, err: unknown): OpenOutcome | Promise<OpenOutcome> {
    const code = codeOf(err);
    if (code === 'EACCES' || code === 'EPERM')
      return missingPermission(path).then((needs) => ({
        skipped: { reason: 'permission_denied', fields: { needs, code } },
      }));
    if (code === 'EMFILE' || code === 'ENFILE') return { skipped: { reason: 'too_many_open_files', fields: { code } } };
    // Gone (ENOENT), a dangling or looping link (ELOOP), a name that stopped being a directory: nothing to read.
    return undefined;
  }

  /** Opens `path` for reading if it is a regular file this source may read. */
  async open(path: string): Promise<OpenOutcome> {
    let st: Stats;
    try {
      st = await stat(path);
    } catch (err) {
      return this.failed(path, err);
    }
    const kind = kindOfStats(st);
    if (kind) return { skipped: { reason: kind, fields: {} } };
    if (this.policy === 'within_include') {
      const real = await realpath(path).catch(() => undefined);
      if (real === undefined) return undefined;
      if (!this.inside(real)) return { skipped: this.outside(real) };
    }
    let fh: FileHandle;
    try {
      fh = await open(path, OPEN_FLAGS);
    } catch (err) {
      return this.failed(path, err);
    }
    try {
      const opened = await fh.stat();
      const openedKind = kindOfStats(opened);
      if (openedKind) {
        await fh.close();
        return { skipped: { reason: openedKind, fields: {} } };
      }
      // What the descriptor points at, not what the name pointed at a moment ago (a link swapped in between).
      if (this.policy === 'within_include') {
        const real = await readlink(`/proc/self/fd/${fh.fd}`)
          .then((p) => p.replace(/ \(deleted\)$/, ''))
          .catch(() => realpath(path).catch(() => path));
        if (!this.inside(real)) {
          await fh.close();
          return { skipped: this.outside(real) };
        }
      }
      return { opened: { path, fh, stat: opened } };
    } catch (err) {
      await fh.close().catch(() => undefined);
      return this.failed(path, err);
    }
  }
}
