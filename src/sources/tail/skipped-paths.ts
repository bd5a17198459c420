// Paths a tailing source does not read, said once per path and reason (a scan runs every second: the log must not
// repeat it) and counted, until the path reads normally again or stops matching.
import type { SourceContext } from '../../core/component.ts';
import type { Skipped, SkipReason } from './file-guard.ts';

const MESSAGES: Record<Exclude<SkipReason, 'too_many_open_files'>, string> = {
  symlink_outside_include: 'not following a symlink that leads outside the include directories',
  fifo: 'not reading a FIFO that matches the include globs',
  socket: 'not reading a socket that matches the include globs',
  device: 'not reading a device that matches the include globs',
  directory: 'not reading a directory that matches the include globs',
  permission_denied: 'cannot read a path that matches the include globs: permission denied',
};

export class SkippedPaths {
  private readonly reported = new Map<string, Skipped>();

  constructor(private readonly ctx: SourceContext) {}

  report(path: string, skipped: Skipped): void {
    if (skipped.reason === 'too_many_open_files') return;
    if (this.reported.get(path)?.reason === skipped.reason) return;
    this.reported.set(path, skipped);
    this.ctx.metrics.filesSkipped.inc({ component: this.ctx.name, reason: skipped.reason });
    this.ctx.logger.warn(MESSAGES[skipped.reason], {
      path,
      reason: skipped.reason,
      ...skipped.fields,
      ...(skipped.reason === 'permission_denied' && process.getuid ? { uid: process.getuid() } : {}),
    });
  }

  /** The path reads normally now: reported again if it stops. */
  clear(path: string): void {
    this.reported.delete(path);
  }

  /** After a scan: forgets the paths no longer matched (a new file there is judged anew). */
  retain(paths: Set<string>): void {
    for (const path of this.reported.keys()) if (!paths.has(path)) this.reported.delete(path);
  }

  /** What is reported now, by path. */
  entries(): IterableIterator<[string, Skipped]> {
    return this.reported.entries();
  }
}
