// Config keys shared by every source that tails files (container_logs, file), and their translation into
// TailEngine options: defined once so both sources document and default them the same way.
import { z } from 'zod';
import { byteSize, duration } from '../../config/units.ts';
import type { TailOptions } from './engine.ts';
import type { SymlinkPolicy } from './file-guard.ts';

export const tailKeys = {
  exclude: z.array(z.string().min(1)).default([]).describe('Glob patterns of files never to tail.'),
  read_from: z
    .enum(['beginning', 'end'])
    .default('beginning')
    .describe(
      'Files already present at the very first start (no checkpoint yet): read whole, or only new lines. Files that appear later are always read whole.',
    ),
  glob_interval: duration
    .default(1000)
    .describe('Rescan of the include globs (directory watches make most discoveries immediate).'),
  poll_interval: duration
    .default(250)
    .describe(
      'How often a file is checked for new data when no change was notified (directory watches notify most writes at once). A file that stays quiet is checked less often, doubling up to 8 × this.',
    ),
  rotate_wait: duration
    .default(5000)
    .describe('How long a rotated or deleted file stays open after its last data, for late writes.'),
  max_line_bytes: byteSize
    .default(1024 * 1024)
    .describe(
      'Longest line (reassembled message) kept; longer ones are cut at this size and flagged (metadata.is_truncated).',
    ),
  read_chunk_bytes: byteSize.default(128 * 1024).describe('Bytes read from a file at a time.'),
  checkpoint_interval: duration.default(1000).describe('How often acknowledged positions are persisted.'),
  max_open_files: z
    .number()
    .int()
    .positive()
    .default(512)
    .describe(
      "Most files this source holds open at once. With more files, one at the end of its data is closed when another needs a descriptor, and opened again by identity (device, inode, first bytes) when it grows. Lowered at start to leave a quarter of the process's open-file limit (at least 64) to the rest of Outrider.",
    ),
  follow_symlinks: z
    .enum(['within_include', 'always'])
    .default('within_include')
    .describe(
      "within_include: read a path that is (or passes through) a symlink only when its resolved target lies inside one of the include patterns' base directories (the part before the first glob character); a link out of them (app.log -> /etc/shadow in a shared volume) is skipped, logged once and counted. For Kubernetes' /var/log/containers/*.log links, also include /var/log/pods/*/*/*.log (each file is read once). always: follow every link. FIFOs, sockets, devices and directories are never opened.",
    ),
  when_no_file: z
    .enum(['degraded', 'ready'])
    .default('degraded')
    .describe(
      'What /readyz says while the include patterns match no file at all. degraded: a source that reads nothing is a deployment error (a wrong path, a volume not mounted). ready: for a log the host may not have (auth.log on a journald-only node); the warning is logged and outrider_files_matched is 0 either way. Paths that match but cannot be read (permissions, symlinks out of the include directories) are degraded whatever this says.',
    ),
};

export interface TailConfig {
  include: string[];
  exclude: string[];
  read_from: 'beginning' | 'end';
  glob_interval: number;
  poll_interval: number;
  rotate_wait: number;
  max_line_bytes: number;
  read_chunk_bytes: number;
  checkpoint_interval: number;
  max_open_files: number;
  follow_symlinks: SymlinkPolicy;
  when_no_file: 'degraded' | 'ready';
}

/** TailEngine options from the shared keys; the source adds how a file is decoded. */
export function tailOptions(c: TailConfig, createDecoding: TailOptions['createDecoding']): TailOptions {
  return {
    include: c.include,
    exclude: c.exclude,
    readFrom: c.read_from,
    globInterval: c.glob_interval,
    pollInterval: c.poll_interval,
    rotateWait: c.rotate_wait,
    readChunkBytes: c.read_chunk_bytes,
    checkpointInterval: c.checkpoint_interval,
    maxOpenFiles: c.max_open_files,
    followSymlinks: c.follow_symlinks,
    whenNoFile: c.when_no_file,
    createDecoding,
  };
}
