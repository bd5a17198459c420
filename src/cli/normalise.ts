import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { type DecodedEvent, type DocumentFormat, isDocumentFormat, LineFlags } from '../formats/decoder.ts';
import { findInputFormat, formatNames } from '../formats/index.ts';
import { DEFAULT_REDACTION, type RedactionConfig } from '../policy/redaction-config.ts';
import { Redactor } from '../policy/redactor.ts';
import { LineSplitter } from '../sources/tail/line-splitter.ts';

export interface NormaliseSummary {
  format: string;
  lines: number;
  events: number;
  problems: Record<string, number>;
}

/** Reads one input format from a file (or stdin for "-") and writes one OCSF event per line to `out`. */
export async function normalise(
  formatName: string,
  file: string,
  out: Writable,
  hostname: string,
  maxLineBytes = 1024 * 1024,
  redaction: RedactionConfig = DEFAULT_REDACTION,
): Promise<NormaliseSummary> {
  return decodeFile(
    formatName,
    file,
    hostname,
    async (events) => {
      let text = '';
      for (const e of events) text += `${JSON.stringify(e.event)}\n`;
      if (!out.write(text)) await new Promise((r) => out.once('drain', r));
    },
    maxLineBytes,
    redaction,
  );
}

/**
 * Decodes a file (or stdin for "-") in one input format into OCSF events, masked by the redaction policy as the
 * pipeline masks them (offline output leaves the host too), and hands them over batch by batch.
 */
export async function decodeFile(
  formatName: string,
  file: string,
  hostname: string,
  onEvents: (events: readonly DecodedEvent[]) => Promise<void>,
  maxLineBytes = 1024 * 1024,
  redaction: RedactionConfig = DEFAULT_REDACTION,
): Promise<NormaliseSummary> {
  const format = findInputFormat(formatName);
  if (!format) throw new Error(`unknown format "${formatName}" (known: ${formatNames().join(', ')})`);
  const summary: NormaliseSummary = { format: formatName, lines: 0, events: 0, problems: {} };
  const path = file === '-' ? undefined : resolve(file);
  const ctx = {
    source: 'normalise',
    hostname,
    ...(path ? { path } : {}),
    onProblem: (reason: string) => {
      summary.problems[reason] = (summary.problems[reason] ?? 0) + 1;
    },
  };
  const events: DecodedEvent[] = [];
  const redactor = new Redactor(redaction);
  const handOver = async () => {
    if (events.length === 0) return;
    for (const e of events) redactor.redactEvent(e.event);
    summary.events += events.length;
    await onEvents(events);
    events.length = 0;
  };
  if (isDocumentFormat(format)) {
    events.push(...(await decodeDocument(format, path, ctx)));
    summary.lines = 1;
    await handOver();
    return summary;
  }
  const decoder = format.createDecoder(ctx);
  const splitter = new LineSplitter(maxLineBytes);
  const onLine = (line: string, info: Parameters<typeof decoder.push>[1]) => {
    summary.lines++;
    decoder.push(line, info, events);
  };
  const input = path ? createReadStream(path) : process.stdin;
  let offset = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    splitter.feed(chunk, offset, onLine);
    offset += chunk.length;
    await handOver();
  }
  // A finished file's last line needs no newline: that is not a problem offline, unlike a live file cut mid-line.
  splitter.finish((line, info) => onLine(line, { ...info, flags: info.flags & ~LineFlags.Unterminated }));
  decoder.flush(events);
  await handOver();
  return summary;
}

/** A whole document (a scanner's report) from a file or stdin, decoded at once. */
async function decodeDocument(
  format: DocumentFormat,
  path: string | undefined,
  ctx: Omit<Parameters<DocumentFormat['decodeDocument']>[1], 'modified'>,
): Promise<DecodedEvent[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of (path ? createReadStream(path) : process.stdin) as AsyncIterable<Buffer>)
    chunks.push(chunk);
  const modified = path ? (await stat(path)).mtimeMs : Date.now();
  return format.decodeDocument(Buffer.concat(chunks).toString('utf8'), { ...ctx, modified: Math.trunc(modified) });
}
