#!/usr/bin/env -S MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --optimize-for-size
// The `outrider` command. The CLI's modules use APIs of recent Node versions (fs.glob, path.matchesGlob); an older
// Node fails while linking them, before any code could explain. So this module checks the version first, importing
// nothing that an old Node cannot load, and loads the CLI only then.
// (Decoding runs in worker threads: the main thread's young generation can be small; one malloc arena and a fixed
// mmap threshold keep event buffers freed across threads from holding memory. Measured in docs/performance.md.)
import { nodeTooOld } from './node-version.ts';

const problem = nodeTooOld(process.version, process.execPath);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exitCode = 2;
} else {
  await import('./main.ts');
}
