// Which security mapper applies to a container's log line: set per source or per container label
// (`outrider.format=nginx`), else sniffed from the content. Sniffing runs on every container line, so it rejects a
// line on its first character and a fixed-string search before any regex runs.
import type { ContainerRef } from '../../core/envelope.ts';
import { parseAuditLine } from '../../parsers/auditd.ts';
import { AUTH_MESSAGE_HINT, classifyAuthMessage } from '../../parsers/auth-messages.ts';
import { parseFalcoLine } from '../../parsers/falco.ts';
import { parseK8sAuditLine } from '../../parsers/k8s-audit.ts';
import { parseWebLogLine } from '../../parsers/nginx.ts';
import { parseSyslogLine } from '../../parsers/syslog.ts';
import { addProfiles, type OcsfEvent } from '../event.ts';
import { mapAuditEvent } from './auditd.ts';
import { repairTime } from './common.ts';
import { sharedContainerObject } from './container.ts';
import { mapFalcoAlert } from './falco.ts';
import { mapK8sAuditEvent } from './k8s-audit.ts';
import { mapWebLog } from './nginx.ts';
import { mapAuthLog } from './syslog-auth.ts';

export const CONTENT_FORMATS = ['auditd', 'k8s-audit', 'falco', 'syslog-auth', 'nginx'] as const;
export type ContentFormat = (typeof CONTENT_FORMATS)[number];
/** auto: sniff each line; none: every line stays a Base Event; a format: every line is mapped with it. */
export type ContentMode = 'auto' | 'none' | ContentFormat;

/** The container label that overrides the source's `content` setting for one container. */
export const FORMAT_LABEL = 'outrider.format';

const ACCESS_TIME = / \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "/;
const NGINX_ERROR = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\w+\] \d+#/;
const SYSLOG_AUTH_APP =
  /^(?:<\d{1,3}>)?(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ (?:sshd(?:-session)?|sudo|su|useradd|userdel|usermod|groupadd|groupdel|passwd|chpasswd)(?:\[\d+\])?: /;

/** The mapper a line's content calls for, or undefined (a plain application line). A JSON line is known by its
 * top-level keys: `fields` is the line parsed by the caller (parseJsonMessage; undefined when it is no JSON object),
 * so that a line that is not JSON is not parsed, and fails, twice. */
export function sniffContent(line: string, fields: Record<string, unknown> | undefined): ContentFormat | undefined {
  const c = line.charCodeAt(0);
  if (c === 123 /* { */) {
    if (!fields) return undefined;
    if (fields.rule !== undefined && fields.priority !== undefined) return 'falco';
    if (fields.auditID !== undefined) return 'k8s-audit';
    if (fields.status !== undefined && (fields.request !== undefined || fields.request_uri !== undefined))
      return 'nginx';
    return undefined;
  }
  if (c === 116 /* t */ && line.startsWith('type=') && line.includes(' msg=audit(')) return 'auditd';
  // Access lines start with an address or a host name and always hold `] "` after the time.
  if (((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || c === 58 || c === 34) && line.includes('] "')) {
    return ACCESS_TIME.test(line) ? 'nginx' : undefined;
  }
  if (c >= 48 && c <= 57 && line.charCodeAt(4) === 47 /* / */) return NGINX_ERROR.test(line) ? 'nginx' : undefined;
  if (
    (c >= 65 && c <= 90) ||
    c === 60 /* < */ ||
    c === 112 /* p */ ||
    c === 101 /* e */ ||
    c === 102 /* f */ ||
    c === 98 /* b */ ||
    c === 114 /* r */ ||
    (c >= 48 && c <= 57)
  ) {
    if (AUTH_MESSAGE_HINT.test(line) || SYSLOG_AUTH_APP.test(line)) return 'syslog-auth';
  }
  return undefined;
}

/** The format configured for a container: its label first, then the source's setting. */
export function contentModeFor(mode: ContentMode, container: ContainerRef | undefined): ContentMode {
  const label = container?.labels?.[FORMAT_LABEL];
  if (label && (label === 'auto' || label === 'none' || (CONTENT_FORMATS as readonly string[]).includes(label)))
    return label as ContentMode;
  return mode;
}

export interface ContentLine {
  message: string;
  /** The message parsed as a JSON object, when it is one: JSON mappers take it (and may change it) rather than
   * parse the message again. */
  fields?: Record<string, unknown>;
  /** The container record's time: used when the content has none (or no year). */
  time: number;
  hostname: string;
  onProblem?: (reason: string, detail: string) => void;
}

/**
 * Maps a container line with a security mapper; undefined when the content is not of that format after all (the
 * caller then keeps its Base Event). `raw_data` is the message here; the caller replaces it with the original record.
 */
export function mapContent(format: ContentFormat, line: ContentLine): OcsfEvent | undefined {
  const text = line.message;
  switch (format) {
    case 'nginx': {
      const r = parseWebLogLine(text, { timezoneOffset: 0 }, line.fields);
      if (typeof r === 'string') return undefined;
      return mapWebLog(r, text, {
        hostname: line.hostname,
        fallbackTime: line.time,
        ...(line.onProblem ? { onProblem: line.onProblem } : {}),
      });
    }
    case 'syslog-auth': {
      const r = parseSyslogLine(text, { now: line.time, timezoneOffset: 0 });
      const fact = classifyAuthMessage(r.message);
      if (!fact) return undefined;
      return mapAuthLog(
        r,
        text,
        { hostname: line.hostname, fallbackTime: line.time, ...(line.onProblem ? { onProblem: line.onProblem } : {}) },
        fact,
      );
    }
    case 'falco': {
      const a = parseFalcoLine(text, line.fields);
      if (typeof a === 'string') return undefined;
      return mapFalcoAlert(a, text, {
        hostname: line.hostname,
        ...(line.onProblem ? { onProblem: line.onProblem } : {}),
      });
    }
    case 'k8s-audit': {
      const e = parseK8sAuditLine(text, line.fields);
      if (typeof e === 'string') return undefined;
      return mapK8sAuditEvent({ event: e }, line.onProblem ? { onProblem: line.onProblem } : {});
    }
    case 'auditd': {
      const r = parseAuditLine(text);
      if (!r) return undefined;
      return mapAuditEvent(
        { records: [r], raw: text },
        { hostname: line.hostname, ...(line.onProblem ? { onProblem: line.onProblem } : {}) },
      );
    }
  }
}

export interface PromotableLine extends ContentLine {
  mode: ContentMode;
  container?: ContainerRef;
  /** The original json-file / CRI record(s): the event's raw_data. */
  raw: string;
  /** The record's time text. */
  originalTime?: string;
  path?: string;
}

/** A container line's event, and what redaction may know of where its strings come from. */
export interface MappedContainerLine {
  event: OcsfEvent;
  /**
   * Present when every string of the event is a constant of its mapper, a value of the decode context, JSON-unescaped
   * text of the line's record, or one of these strings, which the mapper composed (DecodedEvent.fromRaw); absent:
   * the event has to be walked to be masked.
   */
  composed?: readonly string[];
}

/**
 * The strings a mapper composed of several parts of a line (`Failed ${method} for invalid user`): a word spelled
 * across the parts is in none of them. Undefined for events whose strings are not all accounted for: the mappers
 * of JSON documents that nest arbitrary input (Falco, Kubernetes audit) and auditd (hex decoding).
 */
function composedStrings(format: ContentFormat, event: OcsfEvent): readonly string[] | undefined {
  switch (format) {
    case 'nginx': {
      // The virtual host loses its quotes and an absolute URL is parsed (host name lower-cased, path normalised):
      // both rare, both walked.
      const url = (event.http_request as { url?: { url_string?: string } } | undefined)?.url;
      return event.dst_endpoint === undefined && url?.url_string === undefined ? [] : undefined;
    }
    case 'syslog-auth':
      return typeof event.status_detail === 'string' ? [event.status_detail] : [];
    default:
      return undefined;
  }
}

/** What became of a container line's promotion: `mapped` when a security mapper took it; `tried` when one was
 * called (and may have changed `fields`). */
export interface Promotion {
  mapped?: MappedContainerLine;
  tried: boolean;
}

const NOT_TRIED: Promotion = { tried: false };
const GAVE_UP: Promotion = { tried: true };

/**
 * The security event a container line stands for (an nginx access line → HTTP Activity…), carrying the container
 * (device.container) and the original record as raw_data; none for plain application lines.
 */
export function promoteContainerLine(line: PromotableLine): Promotion {
  const mode = contentModeFor(line.mode, line.container);
  if (mode === 'none') return NOT_TRIED;
  const format = mode === 'auto' ? sniffContent(line.message, line.fields) : mode;
  if (!format) return NOT_TRIED;
  const event = mapContent(format, line);
  if (!event || event.class_uid === 0) return GAVE_UP;
  repairTime(event, line.time, line.onProblem);
  // Content without a time of its own (a bare sshd line) has the record's: its text is the original time.
  if (event.metadata.original_time === undefined && event.time === line.time && line.originalTime !== undefined)
    event.metadata.original_time = line.originalTime;
  event.raw_data = line.raw;
  if (line.path) event.metadata.log_source = line.path;
  const device = (event.device as Record<string, unknown> | undefined) ?? { type_id: 0, hostname: line.hostname };
  const container = line.container ? sharedContainerObject(line.container) : undefined;
  // A Falco alert names the container where the activity happened: that one stays.
  if (container && !device.container) device.container = container;
  event.device = device;
  if (device.container) addProfiles(event, 'container');
  if (event.class_uid !== 2004 && !String(event.class_uid).startsWith('1')) addProfiles(event, 'host');
  const composed = composedStrings(format, event);
  return { mapped: composed ? { event, composed } : { event }, tried: true };
}
