// Image scanners' JSON reports (Trivy, Grype) as whole-document formats: one report → a 6007 Scan Activity and one
// finding per vulnerability, misconfiguration and secret (src/ocsf/mappers/vulnerability.ts). Either format reads a
// report of the other scanner too: their top-level keys tell them apart without doubt. A bad report (truncated, not
// JSON, another format or schema version) becomes one flagged Base Event with the report's beginning, and a counted
// problem.
import { createHash } from 'node:crypto';
import type { OcsfProduct } from '../ocsf/event.ts';
import { eventUid, fallbackEvent } from '../ocsf/mappers/common.ts';
import { type MappedEvent, mapScanReport } from '../ocsf/mappers/vulnerability.ts';
import { GRYPE_SCANNER } from '../parsers/grype.ts';
import { parseScanReport, type ScannerName } from '../parsers/scan-reports.ts';
import { TRIVY_SCANNER } from '../parsers/trivy.ts';
import type { DecodedEvent, DocumentContext, DocumentFormat } from './decoder.ts';

/** A bad report is kept this far in its Base Event (the file itself is still there). */
const MAX_RAW_BYTES = 64 * 1024;

const PRODUCTS: Record<ScannerName, OcsfProduct> = {
  trivy: { name: TRIVY_SCANNER.name, vendor_name: TRIVY_SCANNER.vendor },
  grype: { name: GRYPE_SCANNER.name, vendor_name: GRYPE_SCANNER.vendor },
};

/** Decodes one report document into events (never throws). */
export function decodeScanReport(text: string, expected: ScannerName, ctx: DocumentContext): DecodedEvent[] {
  const hash = createHash('sha256').update(text).digest('hex');
  const parsed = parseScanReport(text, expected);
  let mapped: MappedEvent[];
  if ('reason' in parsed) {
    ctx.onProblem(parsed.reason, `${ctx.path ?? 'input'}: ${parsed.detail}`);
    mapped = [badReport(text, expected, parsed.detail, ctx)];
  } else {
    try {
      mapped = mapScanReport(parsed, { documentHash: hash, fallbackTime: ctx.modified });
    } catch (err) {
      const detail = `mapper failed: ${(err as Error).message}`;
      ctx.onProblem('mapping_failed', `${ctx.path ?? 'input'}: ${detail}`);
      mapped = [badReport(text, expected, detail, ctx)];
    }
  }
  return mapped.map(({ event, raw }, i) => {
    event.metadata.uid = eventUid(ctx.hostname, ctx.source, hash, i);
    if (ctx.path) event.metadata.log_source = ctx.path;
    return { event, raw };
  });
}

function badReport(text: string, expected: ScannerName, problem: string, ctx: DocumentContext): MappedEvent {
  const cut = text.length > MAX_RAW_BYTES;
  const raw = cut ? text.slice(0, MAX_RAW_BYTES) : text;
  const event = fallbackEvent({
    product: PRODUCTS[expected],
    logName: expected,
    raw,
    time: ctx.modified,
    hostname: ctx.hostname,
    problem,
  });
  event.message = `scan report not read: ${problem}`;
  if (cut) {
    event.metadata.is_truncated = true;
    event.metadata.untruncated_size = Buffer.byteLength(text);
  }
  return { event, raw };
}

function scanReportFormat(name: ScannerName, description: string): DocumentFormat {
  return { name, description, decodeDocument: (text, ctx) => decodeScanReport(text, name, ctx) };
}

export const trivyFormat = scanReportFormat(
  'trivy',
  'Trivy JSON report (SchemaVersion 2), one whole document per file: vulnerabilities, misconfigurations, secrets',
);
export const grypeFormat = scanReportFormat('grype', 'Grype JSON report, one whole document per file');
