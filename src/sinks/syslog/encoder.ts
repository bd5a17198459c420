// Event → RFC 5424 message. Pure functions, so the framing and escaping are tested without a network.
import { type Envelope, encodeEvent } from '../../core/envelope.ts';
import type { OcsfEvent } from '../../ocsf/event.ts';

/** OCSF severity_id → syslog severity (RFC 5424 §6.2.1). Documented in docs/sinks.md. */
export const SYSLOG_SEVERITY: Record<number, number> = {
  0: 6, // Unknown → informational
  1: 6, // Informational → informational
  2: 5, // Low → notice
  3: 4, // Medium → warning
  4: 3, // High → error
  5: 2, // Critical → critical
  6: 1, // Fatal → alert
  99: 5, // Other → notice
};

/** OCSF severity_id → CEF severity (0–10). */
export const CEF_SEVERITY: Record<number, number> = { 0: 0, 1: 1, 2: 3, 3: 5, 4: 7, 5: 9, 6: 10, 99: 0 };

export interface SyslogEncoding {
  facility: number;
  appName: string;
  hostname: string;
  format: 'json' | 'cef';
}

/** An RFC 5424 header field: printable US-ASCII without spaces, at most `max` long, "-" when empty. */
function headerField(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value.replace(/[^!-~]/g, '') : '';
  return text ? text.slice(0, max) : '-';
}

export function syslogMessage(e: Envelope, enc: SyslogEncoding): string {
  const event = e.event;
  const pri = enc.facility * 8 + (SYSLOG_SEVERITY[event.severity_id] ?? 5);
  const device = event.device as { hostname?: unknown } | undefined;
  const host = headerField(device?.hostname ?? enc.hostname, 255);
  const timestamp = Number.isFinite(event.time) ? new Date(event.time).toISOString() : '-';
  const msgId = `ocsf-${event.class_uid}`;
  const body = enc.format === 'cef' ? cefMessage(event, e) : escapeJsonControls(encodeEvent(e));
  return `<${pri}>1 ${timestamp} ${host} ${enc.appName} - ${msgId} - ${body}`;
}

// Control characters (ESC, BEL, NUL…) never reach the receiver raw: RFC 5424 says MSG SHOULD avoid them, a SIEM
// console may interpret them, and rsyslog rewrites them (`#033`) on receipt. JSON already escapes C0 (`\u001b`);
// DEL and C1 (0x7f-0x9f, 0x9b is CSI) it leaves, so they are escaped too. CEF has no escape for them: they become
// their visible Unicode Control Pictures (ESC → ␛, NUL → ␀, DEL → ␡), C1 the replacement character; the exact
// text stays in cs1 (JSON, escaped).
const JSON_UNESCAPED_CONTROL = /[\x7f-\x9f]/g;
const CONTROL = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

/** JSON text with DEL and C1 control characters written as `\u00XX` (the same JSON value). */
export function escapeJsonControls(json: string): string {
  JSON_UNESCAPED_CONTROL.lastIndex = 0;
  if (!JSON_UNESCAPED_CONTROL.test(json)) return json;
  return json.replace(JSON_UNESCAPED_CONTROL, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** Text with every control character but CR and LF (escaped by CEF) replaced by a printable one. */
export function visibleControls(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : '\ufffd';
  });
}

const cefHeader = (v: unknown) =>
  visibleControls(String(v ?? ''))
    .replace(/[\\|]/g, '\\$&')
    .replace(/[\r\n]+/g, ' ');
const cefValue = (v: unknown) =>
  visibleControls(String(v ?? ''))
    .replace(/[\\=]/g, '\\$&')
    .replace(/\r?\n|\r/g, '\\n');

/** ArcSight CEF: the usual header plus the OCSF event whole in cs1, so nothing is lost in translation. */
export function cefMessage(event: OcsfEvent, e: Envelope): string {
  const name = event.type_name ?? event.class_name ?? `OCSF class ${event.class_uid}`;
  const device = event.device as { hostname?: unknown } | undefined;
  const ext: Array<[string, unknown]> = [
    ['rt', event.time],
    ['dvchost', device?.hostname],
    ['cat', event.category_name],
    ['act', event.activity_name],
    ['outcome', event.status],
    ['msg', event.message],
    ['cs1Label', 'ocsf'],
    ['cs1', escapeJsonControls(encodeEvent(e))],
  ];
  const extension = ext
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${cefValue(v)}`)
    .join(' ');
  return `CEF:0|Outrider|Outrider|${cefHeader(event.metadata.version)}|${event.type_uid}|${cefHeader(name)}|${CEF_SEVERITY[event.severity_id] ?? 0}|${extension}`;
}
