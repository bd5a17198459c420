import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** How many leading bytes identify a file's content (to tell a reused inode, or a copy, from the file). */
export const FINGERPRINT_BYTES = 256;

export interface Fingerprint {
  hash: string;
  bytes: number;
}

/** sha256 of the first `bytes` bytes (fewer if the file is shorter); undefined for an empty file. */
export async function fingerprintOf(fh: FileHandle, bytes = FINGERPRINT_BYTES): Promise<Fingerprint | undefined> {
  const buf = Buffer.alloc(bytes);
  const { bytesRead } = await fh.read(buf, 0, bytes, 0);
  if (bytesRead === 0) return undefined;
  return { hash: createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex'), bytes: bytesRead };
}
