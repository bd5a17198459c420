// Container stdout/stderr lines (Docker json-file, CRI) → OCSF Base Event. Later mappers promote lines whose content
// says more (an nginx access line is HTTP Activity); this one keeps every line as a valid event with its text.
import type { ContainerRef } from '../../core/envelope.ts';
import { parseJsonMessage } from '../../parsers/json.ts';
import { type Classification, classify, Severity } from '../catalog.ts';
import { baseMetadata, type OcsfEvent } from '../event.ts';
import { flagProblem } from '../problems.ts';
import { sharedContainerObject } from './container.ts';
import { type ContentMode, type MappedContainerLine, promoteContainerLine } from './container-content.ts';

export type ContainerLogFormat = 'docker-json' | 'cri';

/** When an event carries its input in `raw_data`: always, only when the event does not hold everything the input
 * held (when_lossy), or never. */
export const RAW_DATA_MODES = ['always', 'when_lossy', 'never'] as const;
export type RawDataMode = (typeof RAW_DATA_MODES)[number];

export interface ContainerLine {
  format: ContainerLogFormat;
  /** The reassembled line, without its trailing newline. */
  message: string;
  /** Epoch ms from the log record's own timestamp (read time when the record had none). */
  time: number;
  /** The record's timestamp text, unchanged. */
  originalTime?: string;
  stream?: string;
  /** The original json-file / CRI record(s), newline-separated when a line was split. */
  raw: string;
  /** The line is one record that its message, stream and time text rebuild exactly (a json-file record of just
   * `log`, `stream` and `time`; a CRI line tagged `F` without attributes). */
  exact?: boolean;
  /** When `raw` goes into `raw_data` (default when_lossy, as the container_logs source). */
  rawData?: RawDataMode;
  path?: string;
  container?: ContainerRef;
  hostname: string;
  /** Bytes of the original message when it was cut at the size limit. */
  untruncatedSize?: number;
  /** What was wrong with the input (kept raw, flagged). */
  problems?: string[];
  /** Which security mapper applies to the content (auto: sniffed); default none. */
  content?: ContentMode;
  onProblem?: (reason: string, detail: string) => void;
}

const PRODUCTS = {
  'docker-json': { name: 'Docker Engine', vendor_name: 'Docker' },
  cri: { name: 'CRI container runtime', vendor_name: 'Kubernetes' },
} as const;

const LOG_PROVIDER = { 'docker-json': 'docker json-file', cri: 'cri' } as const;

/** Severity from an application's own level word (JSON `level`, or a leading `ERROR`/`[warn]`...). */
const LEVEL_SEVERITY: Record<string, number> = {
  trace: Severity.Informational,
  debug: Severity.Informational,
  info: Severity.Informational,
  information: Severity.Informational,
  informational: Severity.Informational,
  notice: Severity.Informational,
  warn: Severity.Low,
  warning: Severity.Low,
  error: Severity.Medium,
  err: Severity.Medium,
  critical: Severity.High,
  crit: Severity.High,
  alert: Severity.High,
  fatal: Severity.Critical,
  panic: Severity.Critical,
  emerg: Severity.Critical,
  emergency: Severity.Critical,
};
const LEADING_LEVEL =
  /^\s*\[?(trace|debug|info|notice|warn(?:ing)?|error|err|crit(?:ical)?|alert|fatal|panic|emerg)\b/i;
const LEVEL_KEYS = ['level', 'severity', 'lvl', 'log.level', 'loglevel'];
/** Keys under which JSON logging libraries put the message (zap, pino, logrus, slog: msg; winston, bunyan, log4j's
 * JSON layouts: message; Docker-style wrappers: log), in the order one is taken when a line has several. */
const MESSAGE_KEYS = ['msg', 'message', 'log'];
/** The key the message is read from when `unmapped.message_key` does not name another. */
const DEFAULT_MESSAGE_KEY = MESSAGE_KEYS[0]!;

function severityOf(message: string, fields: Record<string, unknown> | undefined): number {
  if (fields) {
    for (const k of LEVEL_KEYS) {
      const v = fields[k];
      if (typeof v === 'string') {
        const s = LEVEL_SEVERITY[v.toLowerCase()];
        if (s !== undefined) return s;
      }
    }
    return Severity.Informational;
  }
  const m = LEADING_LEVEL.exec(message);
  return (m && LEVEL_SEVERITY[m[1]!.toLowerCase()]) || Severity.Informational;
}

const logClassifications = new Map<number, Classification>();
function logClassification(severityId: number): Classification {
  let c = logClassifications.get(severityId);
  if (!c) {
    c = classify('base_event', 99, severityId, 'Log');
    logClassifications.set(severityId, c);
  }
  return c;
}

/** A container line as its event; a plain line's strings are all its own or constants (`composed` empty). */
export function mapContainerLine(line: ContainerLine): MappedContainerLine {
  // Parsed once: the content is sniffed by its keys, and a JSON mapper or the Base Event takes the object.
  let fields = parseJsonMessage(line.message);
  const rebuildsRecord = line.exact === true && !line.problems && line.untruncatedSize === undefined;
  if (line.content !== undefined && !line.problems) {
    const promotion = promoteContainerLine({
      mode: line.content,
      message: line.message,
      time: line.time,
      hostname: line.hostname,
      raw: line.raw,
      ...(line.originalTime !== undefined ? { originalTime: line.originalTime } : {}),
      ...(fields ? { fields } : {}),
      ...(line.container ? { container: line.container } : {}),
      ...(line.path ? { path: line.path } : {}),
      ...(line.onProblem ? { onProblem: line.onProblem } : {}),
    });
    if (promotion.mapped) {
      const { event } = promotion.mapped;
      if (line.stream) event.unmapped = { ...(event.unmapped ?? {}), stream: line.stream };
      // The record is in the event when the mapper kept the line whole as the message and its time text.
      const lossless =
        rebuildsRecord && event.message === line.message && event.metadata.original_time === line.originalTime;
      if (!keepsRawData(line.rawData, lossless)) delete event.raw_data;
      return promotion.mapped;
    }
    // A JSON mapper that gave up may have changed the object it was given: the Base Event gets the line's own.
    if (promotion.tried && fields) fields = parseJsonMessage(line.message);
  }
  const metadata = baseMetadata(PRODUCTS[line.format], line.stream ?? 'container');
  metadata.log_provider = LOG_PROVIDER[line.format];
  metadata.log_format = fields ? 'JSON' : 'text';
  if (line.path) metadata.log_source = line.path;
  if (line.originalTime) metadata.original_time = line.originalTime;
  metadata.profiles = ['host', 'container'];
  if (line.untruncatedSize !== undefined) {
    metadata.is_truncated = true;
    metadata.untruncated_size = line.untruncatedSize;
  }
  const device: Record<string, unknown> = { type_id: 0, hostname: line.hostname };
  const container = line.container ? sharedContainerObject(line.container) : undefined;
  if (container) device.container = container;
  const unmapped: Record<string, unknown> = {};
  // The stream is in metadata.log_name, the record's time text in metadata.original_time.
  let message: string | undefined = line.message;
  // JSON re-encodes what was parsed to the same text only when nothing was lost in parsing (no duplicate key, no
  // number beyond double precision, no escape or spacing of its own): then the fields and the message are the line.
  const lossless = rebuildsRecord && (fields === undefined || JSON.stringify(fields) === line.message);
  if (fields) {
    // The application's own message is the event's message; the rest of its fields stay beside it, once.
    const key = MESSAGE_KEYS.find((k) => typeof fields![k] === 'string');
    message = key === undefined ? undefined : (fields[key] as string);
    if (key !== undefined) {
      delete fields[key];
      if (key !== DEFAULT_MESSAGE_KEY) unmapped.message_key = key;
    }
    unmapped.fields = fields;
  }
  const event: OcsfEvent = {
    ...logClassification(severityOf(line.message, fields)),
    time: line.time,
    metadata,
    ...(message !== undefined ? { message } : {}),
    device,
  };
  if (Object.keys(unmapped).length > 0) event.unmapped = unmapped;
  if (keepsRawData(line.rawData, lossless)) event.raw_data = line.raw;
  if (line.problems) for (const p of line.problems) flagProblem(event, p);
  return { event, composed: [] };
}

function keepsRawData(mode: RawDataMode = 'when_lossy', lossless: boolean): boolean {
  return mode === 'always' || (mode === 'when_lossy' && !lossless);
}
