import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Replaces `file` with `content` so that a crash at any point leaves either the old or the new content whole:
 * write a temporary file, fsync it, rename it over the old one, fsync the directory. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Atomic writes, one at a time: two writes of one file at once would share its temporary file. */
export class SerialAtomicWriter {
  private last: Promise<void> = Promise.resolve();

  write(file: string, content: string): Promise<void> {
    const p = this.last.then(() => writeFileAtomic(file, content));
    this.last = p.catch(() => undefined);
    return p;
  }

  /** Resolves once every write asked so far is done. */
  settled(): Promise<void> {
    return this.last;
  }
}
