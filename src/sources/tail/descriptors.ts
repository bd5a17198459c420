// The file descriptors a tailing source may hold. Thousands of log files must not exhaust the process's limit (and with
// it the admin endpoint, the sinks' sockets, the checkpoint writes): a file at the end of its data gives its descriptor
// up when another file needs one, and is opened again by identity when it has data, as Fluent Bit and Vector do.
import { openSync, readSync } from 'node:fs';

/** /proc/self/limits, kept open once read: the limit is wanted most when no descriptor is left to open it with. */
let limitsFd: number | undefined;
const limitsBuffer = Buffer.alloc(4096);

/** The process's open-file limit (soft RLIMIT_NOFILE; Node raises it to the hard limit at start), if known. */
export function openFileLimit(): number | undefined {
  try {
    limitsFd ??= openSync('/proc/self/limits', 'r');
    const length = readSync(limitsFd, limitsBuffer, 0, limitsBuffer.length, 0);
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limitsBuffer.toString('latin1', 0, length));
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Descriptors left to the rest of the process (admin endpoint, sinks, decode workers, checkpoint and buffer files,
 * the short opens of discovery): a quarter of the limit, at least 64. */
export function descriptorReserve(limit: number): number {
  return Math.max(64, Math.ceil(limit / 4));
}

/** The descriptors a source's tailed files may hold: `configured`, within what the process limit leaves. */
export function tailedFilesCapacity(configured: number, limit = openFileLimit()): number {
  if (limit === undefined || !Number.isFinite(limit)) return configured;
  return Math.max(1, Math.min(configured, limit - descriptorReserve(limit)));
}

/**
 * Counts the descriptors held by tailed files against a capacity. A file at the end of its data is idle: its
 * descriptor may be taken back (the `close` callback closes it) for a file that needs one, least recently active
 * first. A file that needs one when none is free and no file is idle waits, in order of asking.
 */
export class DescriptorBudget<T> {
  private used = 0;
  /** Open files at the end of their data, least recently active first. */
  private readonly idleFiles = new Set<T>();
  private readonly waiting: Array<() => void> = [];

  constructor(
    private capacity: number,
    private readonly close: (item: T) => void,
  ) {}

  get held(): number {
    return this.used;
  }

  get limit(): number {
    return this.capacity;
  }

  /** A descriptor now, when one is free or an idle file gives its own; never one a waiting file is owed. */
  tryAcquire(): boolean {
    if (this.waiting.length > 0) return false;
    if (this.used < this.capacity) {
      this.used++;
      return true;
    }
    const oldest = this.idleFiles.values().next();
    if (oldest.done) return false;
    this.idleFiles.delete(oldest.value);
    this.close(oldest.value);
    return true;
  }

  /** A descriptor, waiting for one when none is free and no file is idle. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    // Handed over by release (the count stays).
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A descriptor beyond the capacity if need be (a rotated file must be read before it is deleted). */
  force(): void {
    this.used++;
  }

  /** A file closed: its descriptor goes to the first waiting file, or back to the pool (over the capacity: away). */
  release(item: T): void {
    this.idleFiles.delete(item);
    const next = this.used <= this.capacity ? this.waiting.shift() : undefined;
    if (next) next();
    else this.used--;
  }

  /** The file is at the end of its data: closed at once if a file waits, else closable later. */
  idle(item: T): void {
    if (this.waiting.length > 0) {
      this.close(item);
      this.release(item);
      return;
    }
    // Most recently active last.
    this.idleFiles.delete(item);
    this.idleFiles.add(item);
  }

  /** The file reads again: its descriptor is not to be taken. */
  busy(item: T): void {
    this.idleFiles.delete(item);
  }

  /** A new capacity (the process ran out of descriptors, or has them again); files over it give theirs up as they
   * close. */
  resize(capacity: number): void {
    this.capacity = Math.max(1, capacity);
  }

  /** Stopping: every waiting file goes on (and finds the source stopping). */
  wakeAll(): void {
    for (const w of this.waiting.splice(0)) w();
  }
}
