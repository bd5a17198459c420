import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../state/atomic-file.ts';

/** Where reading of one file (one inode) may resume: everything before `offset` was acknowledged by every sink. */
export interface FileCheckpoint {
  /** The watched path this file belongs to (it may since have been renamed by rotation). */
  group: string;
  /** The name the file had when last seen. */
  path: string;
  dev: number;
  ino: number;
  offset: number;
  /** sha256 of the first `fingerprintBytes` bytes, to tell a reused inode from the same file. */
  fingerprint?: string;
  fingerprintBytes?: number;
  /** Epoch ms of the last change. */
  updated: number;
  /** Read to its end after it was rotated or deleted: nothing of it is lost if it is gone at the next start. */
  complete?: boolean;
}

interface StoreFile {
  version: 1;
  files: Record<string, FileCheckpoint>;
}

export const fileKey = (dev: number, ino: number): string => `${dev}:${ino}`;

/** Checkpoints of one tailing source, persisted atomically (a crash leaves the previous or the new version). */
export class CheckpointStore {
  private files = new Map<string, FileCheckpoint>();
  private dirty = false;
  private saving: Promise<void> | undefined;

  constructor(readonly file: string) {}

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const parsed = JSON.parse(text) as StoreFile;
    if (parsed.version !== 1 || typeof parsed.files !== 'object')
      throw new Error(`unsupported checkpoint file ${this.file}`);
    this.files = new Map(Object.entries(parsed.files));
  }

  get(key: string): FileCheckpoint | undefined {
    return this.files.get(key);
  }

  forGroup(group: string): FileCheckpoint[] {
    return [...this.files.values()].filter((c) => c.group === group).sort((a, b) => a.updated - b.updated);
  }

  all(): FileCheckpoint[] {
    return [...this.files.values()];
  }

  set(cp: FileCheckpoint): void {
    this.files.set(fileKey(cp.dev, cp.ino), cp);
    this.dirty = true;
  }

  delete(key: string): void {
    if (this.files.delete(key)) this.dirty = true;
  }

  /** Writes the store if it changed since the last save. Concurrent calls share one write. */
  async save(): Promise<void> {
    while (this.saving) await this.saving;
    if (!this.dirty) return;
    this.dirty = false;
    const content = JSON.stringify({ version: 1, files: Object.fromEntries(this.files) } satisfies StoreFile);
    this.saving = writeFileAtomic(this.file, content).catch((err) => {
      this.dirty = true;
      throw err;
    });
    try {
      await this.saving;
    } finally {
      this.saving = undefined;
    }
  }
}
