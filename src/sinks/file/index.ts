import { type FileHandle, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { ComponentContext, Sink, SinkFactory } from '../../core/component.ts';
import { type Envelope, encodeNdjsonBuffers } from '../../core/envelope.ts';
import { type FileSinkConfig, fileSinkSchema } from './config.ts';

/** Appends events as NDJSON; a batch is acknowledged only once written (and fsynced, by default). */
export class FileSink implements Sink {
  private fh: FileHandle | undefined;
  private size = 0;

  constructor(private readonly config: FileSinkConfig) {}

  async start(_ctx: ComponentContext): Promise<void> {
    await mkdir(dirname(this.config.path), { recursive: true });
    await this.openFile();
  }

  private async openFile(): Promise<void> {
    this.fh = await open(this.config.path, 'a+', 0o640);
    this.size = (await this.fh.stat()).size;
    await this.dropTornTail();
  }

  /**
   * A crash (kill -9, power loss) in the middle of a write leaves a partial last line. That batch was never
   * acknowledged, so its events will be written again: cut the fragment instead of gluing new lines onto it.
   */
  private async dropTornTail(): Promise<void> {
    const fh = this.fh!;
    if (this.size === 0) return;
    const window = Buffer.alloc(Math.min(this.size, 64 * 1024));
    let end = this.size;
    while (end > 0) {
      const start = Math.max(0, end - window.length);
      const { bytesRead } = await fh.read(window, 0, end - start, start);
      const nl = window.subarray(0, bytesRead).lastIndexOf(10);
      if (nl >= 0) {
        const keep = start + nl + 1;
        if (keep < this.size) await this.truncateTo(keep);
        return;
      }
      end = start;
    }
    await this.truncateTo(0);
  }

  private async truncateTo(size: number): Promise<void> {
    await this.fh!.truncate(size);
    this.size = size;
  }

  async write(events: Envelope[]): Promise<void> {
    const data = encodeNdjsonBuffers(events);
    let bytes = 0;
    for (const b of data) bytes += b.length;
    if (this.size > 0 && this.size + bytes > this.config.rotate.max_bytes) await this.rotate();
    const fh = this.fh!;
    try {
      // The file is opened for appending: every write lands at the end. A short write goes on with the rest.
      let written = (await fh.writev(data)).bytesWritten;
      if (written < bytes) {
        const all = Buffer.concat(data);
        while (written < bytes) written += (await fh.write(all, written)).bytesWritten;
      }
      if (this.config.fsync) await fh.datasync();
    } catch (err) {
      // Leave no half-written batch behind: it would be duplicated, or leave a broken line, on retry.
      await fh.truncate(this.size).catch(() => undefined);
      throw err;
    }
    this.size += bytes;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    const { path } = this.config;
    const { max_files } = this.config.rotate;
    const base = basename(path);
    const numbers = (await readdir(dirname(path)))
      .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : Number.NaN))
      .filter((n) => Number.isInteger(n) && n > 0)
      .sort((a, b) => b - a);
    for (const n of numbers) {
      const from = `${path}.${n}`;
      if (max_files > 0 && n >= max_files) await unlink(from);
      else await rename(from, `${path}.${n + 1}`);
    }
    await rename(path, `${path}.1`);
    await this.openFile();
  }

  async stop(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

export const fileSinkFactory: SinkFactory<FileSinkConfig> = {
  kind: 'sink',
  type: 'file',
  description: 'Appends OCSF events as NDJSON to a local file, with size-based rotation and fsync on acknowledgement.',
  configSchema: fileSinkSchema,
  create: (config) => new FileSink(config),
};
