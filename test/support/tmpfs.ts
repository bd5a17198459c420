// A small file system a test can fill up (ENOSPC) and free again: a tmpfs mounted on a temp directory (root only),
// unmounted after the test whatever its outcome.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const mounted = new Set<string>();
afterEach(() => {
  for (const dir of mounted) execFileSync('umount', ['-l', dir]);
  mounted.clear();
});

/** Mounts a tmpfs of `bytes` on `dir` (created). */
export function mountTmpfs(dir: string, bytes: number): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  mounted.add(dir);
  return dir;
}

/** Fills the file system of `dir` with a file `filler` until a write fails for lack of space. */
export function fillUp(dir: string): string {
  const filler = join(dir, 'filler');
  const block = Buffer.alloc(4096, 1);
  writeFileSync(filler, '');
  try {
    for (;;) writeFileSync(filler, block, { flag: 'a' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  return filler;
}
