// Atomic writes of one file asked at once (a periodic checkpoint save and the one at shutdown): bare, they share the
// temporary file and one fails; through SerialAtomicWriter both succeed and the last asked wins.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SerialAtomicWriter, writeFileAtomic } from '../../src/state/atomic-file.ts';
import { tempDir } from '../support/outrider.ts';

const BIG = 'a'.repeat(1_000_000);

it('two bare atomic writes of one file at once: one of them fails', async () => {
  const file = join(tempDir(), 'state.json');
  const results = await Promise.allSettled([writeFileAtomic(file, BIG), writeFileAtomic(file, 'b')]);
  expect(results.map((r) => r.status)).toContain('rejected');
});

it('SerialAtomicWriter: both succeed, the last asked is what stays; settled() waits for both', async () => {
  const file = join(tempDir(), 'state.json');
  const writer = new SerialAtomicWriter();
  const first = writer.write(file, BIG);
  const second = writer.write(file, 'b');
  await writer.settled();
  expect(readFileSync(file, 'utf8')).toBe('b');
  await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
});
