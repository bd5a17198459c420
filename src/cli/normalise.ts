import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { Readable, type Transform, type Writable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { type DecodedEvent, LineFlags } from '../formats/decoder.ts';
import { findFormat, formatNames } from '../formats/index.ts';
import { DEFAULT_REDACTION, type RedactionConfig } from '../policy/redaction-config.ts';
import { Redactor } from '../policy/redactor.ts';
import { LineSplitter } from '../sources/tail/line-splitter.ts';

export interface NormaliseSummary {
  format: string;
  lines: number;
  events: number;
  problems: Record<string, number>;
}

export interface DecodeOptions {
  maxLineBytes?: number;
  redaction?: RedactionConfig;
  /** Where notes (compressed input) and progress go; none: not said. */
  stderr?: Writable;
  /** Report progress (lines, rate) on `stderr` every second: for a person watching a terminal. */
  progress?: boolean;
}

/** Reads one input format from a file (or stdin for "-") and writes one OCSF event per line to `out`. */
export async function normalise(
  formatName: string,
  file: string,
  out: Writable,
  hostname: string,
  options: DecodeOptions = {},
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
    options,
  );
}

const MAGIC: Array<{ name: string; bytes: number[]; decompress?: () => Transform }> = [
  { name: 'gzip', bytes: [0x1f, 0x8b], decompress: createGunzip },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd], decompress: createZstdDecompress },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68] },
];

/** The input's bytes, decompressed when its first bytes are gzip's or zstd's magic number (and said so). */
async function* decompressed(
  input: AsyncIterable<Buffer>,
  name: string,
  note: (text: string) => void,
): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head: Buffer = first.value;
  const rest = (async function* () {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value as Buffer;
  })();
  const kind = MAGIC.find((m) => m.bytes.length <= head.length && m.bytes.every((b, i) => head[i] === b));
  if (!kind) {
    yield* rest;
    return;
  }
  if (!kind.decompress)
    throw new Error(`${name} looks ${kind.name}-compressed: decompress it first and read stdin ("-")`);
  note(`normalise: ${name} is ${kind.name}-compressed: decompressing it`);
  const inflate = kind.decompress();
  const source = Readable.from(rest);
  source.on('error', (err) => inflate.destroy(err));
  yield* source.pipe(inflate) as AsyncIterable<Buffer>;
}

/** Every second, lines read so far and the rate over the last second, on one terminal line. */
function progressReporter(stderr: Writable, lines: () => number): () => void {
  let last = { at: performance.now(), lines: 0 };
  let shown = false;
  const timer = setInterval(() => {
    const now = { at: performance.now(), lines: lines() };
    const rate = Math.round(((now.lines - last.lines) * 1000) / (now.at - last.at));
    stderr.write(`\rnormalise: ${now.lines.toLocaleString('en')} lines, ${rate.toLocaleString('en')} lines/s\x1b[K`);
    shown = true;
    last = now;
  }, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (shown) stderr.write('\n');
  };
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
  options: DecodeOptions = {},
): Promise<NormaliseSummary> {
  const { maxLineBytes = 1024 * 1024, redaction = DEFAULT_REDACTION, stderr } = options;
  const format = findFormat(formatName);
  if (!format) throw new Error(`unknown format "${formatName}" (known: ${formatNames().join(', ')})`);
  const summary: NormaliseSummary = { format: formatName, lines: 0, events: 0, problems: {} };
  const path = file === '-' ? undefined : resolve(file);
  const decoder = format.createDecoder({
    source: 'normalise',
    hostname,
    ...(path ? { path } : {}),
    onProblem: (reason) => {
      summary.problems[reason] = (summary.problems[reason] ?? 0) + 1;
    },
  });
  const splitter = new LineSplitter(maxLineBytes);
  const events: DecodedEvent[] = [];
  const redactor = new Redactor(redaction);
  const handOver = async () => {
    if (events.length === 0) return;
    for (const e of events) redactor.redactEvent(e.event);
    summary.events += events.length;
    await onEvents(events);
    events.length = 0;
  };
  const onLine = (line: string, info: Parameters<typeof decoder.push>[1]) => {
    summary.lines++;
    decoder.push(line, info, events);
  };
  const input = (path ? createReadStream(path) : process.stdin) as AsyncIterable<Buffer>;
  const stopProgress = options.progress && stderr ? progressReporter(stderr, () => summary.lines) : undefined;
  let offset = 0;
  try {
    for await (const chunk of decompressed(input, file === '-' ? 'stdin' : file, (t) => stderr?.write(`${t}\n`))) {
      splitter.feed(chunk, offset, onLine);
      offset += chunk.length;
      await handOver();
    }
  } finally {
    stopProgress?.();
  }
  // A finished file's last line needs no newline: that is not a problem offline, unlike a live file cut mid-line.
  splitter.finish((line, info) => onLine(line, { ...info, flags: info.flags & ~LineFlags.Unterminated }));
  decoder.flush(events);
  await handOver();
  return summary;
}
