import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Envelope, encodeEvent } from '../core/envelope.ts';
import type { Metrics } from '../observability/metrics.ts';

/**
 * Events a destination refused for good, appended as NDJSON (`{"time","sink","reason","event"}` per line) and
 * fsynced: they are acknowledged to the sources once here, so this file is their only copy. Counted per reason in
 * outrider_sink_events_dead_lettered_total.
 */
export class DeadLetterFile {
  private fh: FileHandle | undefined;

  constructor(
    readonly path: string,
    private readonly sink: string,
    private readonly metrics: Metrics,
  ) {}

  private tail: Promise<unknown> = Promise.resolve();

  /** Appends and fsyncs; concurrent calls (requests in flight in parallel) are written one after the other. */
  write(events: Envelope[], reason: string | ((index: number) => string)): Promise<void> {
    const next = this.tail.then(() => this.append(events, reason));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async append(events: Envelope[], reason: string | ((index: number) => string)): Promise<void> {
    if (events.length === 0) return;
    if (!this.fh) {
      await mkdir(dirname(this.path), { recursive: true });
      this.fh = await open(this.path, 'a', 0o600);
    }
    const time = new Date().toISOString();
    let data = '';
    const counts = new Map<string, number>();
    events.forEach((e, i) => {
      const why = typeof reason === 'string' ? reason : reason(i);
      counts.set(why, (counts.get(why) ?? 0) + 1);
      data += `{"time":"${time}","sink":${JSON.stringify(this.sink)},"reason":${JSON.stringify(why)},"event":${encodeEvent(e)}}\n`;
    });
    await this.fh.appendFile(data);
    await this.fh.datasync();
    for (const [why, n] of counts)
      this.metrics.sinkEventsDeadLettered.inc({ component: this.sink, reason: reasonLabel(why) }, n);
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** A bounded label value from a free-text reason ("HTTP 400: …" → "http_400", "mapper_parsing_exception: …" →
 * "mapper_parsing_exception"), so metrics do not grow a series per message. */
export function reasonLabel(reason: string): string {
  const http = /^HTTP (\d{3})/.exec(reason);
  if (http) return `http_${http[1]}`;
  const word = /^([A-Za-z_][A-Za-z0-9_.-]{0,60})/.exec(reason);
  return word ? word[1]!.toLowerCase() : 'other';
}
