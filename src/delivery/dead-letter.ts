import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { type ContainerRef, type Envelope, encodeEvent } from '../core/envelope.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { reasonLabel } from '../observability/problem-state.ts';
import type { OcsfEvent } from '../ocsf/event.ts';

/** One line of a dead-letter file. */
export interface DeadLetterRecord {
  /** When it was dead-lettered. */
  time: string;
  sink: string;
  /** The source component the event came from, and its container (absent in files of older versions). */
  source?: string;
  container?: ContainerRef;
  reason: string;
  event: OcsfEvent;
}

/**
 * Events a destination refused for their own content, appended as NDJSON (`{"time","sink","source","container",
 * "reason","event"}` per line) and fsynced: they are acknowledged to the sources once here, so this file is their only copy. Counted per
 * reason in outrider_sink_events_dead_lettered_total and as outrider_events_lost_total{reason="dead_lettered"}.
 * Bounded by `maxBytes`: beyond it, events are counted as lost (dead_letter_full) instead, and the change of state
 * is logged once. An operator who moves the file away (to replay it) makes room: the next write starts a new one.
 */
export class DeadLetterFile {
  private fh: FileHandle | undefined;
  private ino = 0;
  private size = 0;
  private full = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly sink: string,
    private readonly maxBytes: number,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** Appends and fsyncs; concurrent calls (requests in flight in parallel) are written one after the other. */
  write(events: Envelope[], reason: string | ((index: number) => string)): Promise<void> {
    const next = this.tail.then(() => this.append(events, reason));
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Opens the file, again when it was moved or deleted since (a replay took it away). */
  private async handle(): Promise<FileHandle> {
    if (this.fh) {
      const now = await stat(this.path).catch(() => undefined);
      if (now?.ino === this.ino) return this.fh;
      await this.fh.close();
      this.fh = undefined;
    }
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(this.path, 'a', 0o600);
    const st = await fh.stat();
    this.fh = fh;
    this.ino = st.ino;
    this.size = st.size;
    return fh;
  }

  private async append(events: Envelope[], reason: string | ((index: number) => string)): Promise<void> {
    if (events.length === 0) return;
    const fh = await this.handle();
    const time = new Date().toISOString();
    let data = '';
    const counts = new Map<string, number>();
    let lost = 0;
    let bytes = 0;
    events.forEach((e, i) => {
      const why = typeof reason === 'string' ? reason : reason(i);
      const container = e.container ? `,"container":${JSON.stringify(e.container)}` : '';
      const line = `{"time":"${time}","sink":${JSON.stringify(this.sink)},"source":${JSON.stringify(e.source)}${container},"reason":${JSON.stringify(why)},"event":${encodeEvent(e)}}\n`;
      const lineBytes = Buffer.byteLength(line);
      if (this.size + bytes + lineBytes > this.maxBytes) {
        lost++;
        return;
      }
      counts.set(why, (counts.get(why) ?? 0) + 1);
      data += line;
      bytes += lineBytes;
    });
    if (data) {
      await fh.appendFile(data);
      await fh.datasync();
      this.size += bytes;
    }
    this.metrics.deadLetterBytes.set({ component: this.sink }, this.size);
    let written = 0;
    for (const [why, n] of counts) {
      written += n;
      this.metrics.sinkEventsDeadLettered.inc({ component: this.sink, reason: reasonLabel(why) }, n);
    }
    if (written > 0) this.metrics.eventsLost.inc({ component: this.sink, reason: 'dead_lettered' }, written);
    if (lost > 0) {
      this.metrics.eventsLost.inc({ component: this.sink, reason: 'dead_letter_full' }, lost);
      if (!this.full)
        this.logger.error('dead-letter file is full; refused events are now counted as lost, not written', {
          dead_letter: this.path,
          max_bytes: this.maxBytes,
          lost,
        });
    } else if (this.full) this.logger.info('dead-letter file has room again', { dead_letter: this.path });
    this.full = lost > 0;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** The records of a dead-letter file, in order; a line that is not one (cut short, edited by hand) is reported to
 * `onBadLine` and skipped. */
export async function* readDeadLetters(
  path: string,
  onBadLine: (lineNumber: number) => void,
): AsyncGenerator<DeadLetterRecord> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let record: { event?: { time?: unknown; metadata?: unknown } } | undefined;
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      record = undefined;
    }
    const event = record?.event;
    if (!event || typeof event !== 'object' || typeof event.time !== 'number' || typeof event.metadata !== 'object') {
      onBadLine(n);
      continue;
    }
    yield record as unknown as DeadLetterRecord;
  }
}
