// Image scanners' JSON reports (Trivy SchemaVersion 2, Grype) → one scanner-neutral ScanReport, which one mapper
// turns into OCSF (src/ocsf/mappers/vulnerability.ts). A report is one whole JSON document, not one record per line.
// Every field is read defensively (reports are untrusted input): wrong types are skipped, long texts and lists cut.
import { parseGrypeReport } from './grype.ts';
import { parseTrivyReport } from './trivy.ts';

export type ScannerName = 'trivy' | 'grype';

/** The scanner's own severity word, lower-cased (Grype's "Negligible" included). */
export type ScanSeverity = 'unknown' | 'negligible' | 'low' | 'medium' | 'high' | 'critical';

export interface ScannerInfo {
  /** Product name as OCSF metadata.product.name: "Trivy", "Grype". */
  name: string;
  vendor: string;
  version?: string;
}

/** The image a report is about, with every identity a runtime may know it by. */
export interface ScannedImage {
  /** Image id (`sha256:…` of the image config): what Docker and the CRI `image_id` report for a container. */
  id?: string;
  /** Repository, e.g. `ghcr.io/aquasecurity/trivy-test-images`. */
  name?: string;
  tag?: string;
  /** `repository@sha256:…` references (the registry's manifest or index digests). */
  repoDigests: string[];
  /** The manifest digest the scanner read, when it says (Grype). */
  manifestDigest?: string;
}

export interface ScanArtifact {
  /** What the scanner was pointed at (image reference, archive, directory). */
  name: string;
  /** The scanner's word: container_image, repository, filesystem, image, directory… */
  type: string;
  image?: ScannedImage;
  /** Operating system of the image, e.g. "alpine 3.10.2". */
  os?: string;
}

export interface CvssScore {
  version: string;
  baseScore: number;
  vector?: string;
  /** Who scored it (nvd, redhat, ghsa…). */
  source?: string;
}

export interface ScannedPackage {
  name: string;
  version: string;
  /** Versions that fix it (several branches may each have one). */
  fixedVersions: string[];
  purl?: string;
  /** Package manager / ecosystem: apk, deb, rpm, gem, npm, python, java-archive… */
  manager?: string;
  /** True for operating-system packages (apk, deb, rpm), false for application dependencies. */
  os?: boolean;
  /** Where in the image it was found. */
  path?: string;
  architecture?: string;
  epoch?: number;
  cpe?: string;
  licenses?: string[];
  /** The digest of the image layer that brought it. */
  layerDigest?: string;
}

export interface VulnerabilityMatch {
  /** The scanner's id for the vulnerability: CVE-…, GHSA-…, DSA-…, ALAS-… */
  id: string;
  /** Other ids of the same vulnerability (a GHSA's CVE, a distribution advisory). */
  aliases: string[];
  severity: ScanSeverity;
  /** Who the severity comes from (nvd, the distribution…). */
  severitySource?: string;
  title?: string;
  description?: string;
  cwes: string[];
  cvss: CvssScore[];
  references: string[];
  published?: number;
  modified?: number;
  /** The scanner's fix state, normalised: fixed, not_fixed, wont_fix, affected, unknown… */
  fixState: string;
  package: ScannedPackage;
  /** The advisory database the match comes from. */
  dataSource?: string;
  epss?: { score: number; percentile?: number };
  knownExploited: boolean;
  /** What the scanner looked at inside the artifact (Trivy's Target). */
  target?: string;
  /** Scanner-specific extras worth keeping (unmapped). */
  extra: Record<string, unknown>;
  /** The scanner's record, for raw_data. */
  raw: unknown;
}

export interface Misconfiguration {
  id: string;
  type?: string;
  title: string;
  description?: string;
  message?: string;
  resolution?: string;
  severity: ScanSeverity;
  /** PASS, FAIL, EXCEPTION (Trivy), lower-cased. */
  status: string;
  references: string[];
  target: string;
  provider?: string;
  service?: string;
  resource?: string;
  startLine?: number;
  endLine?: number;
  raw: unknown;
}

/** A secret found in the artifact. The secret itself (Trivy's Match and Code) is never read into this. */
export interface SecretFinding {
  ruleId: string;
  category?: string;
  title: string;
  severity: ScanSeverity;
  target: string;
  startLine?: number;
  endLine?: number;
  layerDigest?: string;
}

export interface ScanReport {
  scanner: ScannerInfo;
  /** The scanner's report id, when it gives one. */
  reportId?: string;
  /** When the scan ran (epoch ms), when the report says. */
  time?: number;
  artifact: ScanArtifact;
  vulnerabilities: VulnerabilityMatch[];
  misconfigurations: Misconfiguration[];
  secrets: SecretFinding[];
  /** The report's identifying fields (not its results), for the scan's raw_data. */
  header: Record<string, unknown>;
}

export type ScanReportProblem = {
  /** Metric label: malformed_report (not JSON, truncated, wrong shape) or unsupported_report (another format or
   * schema version). */
  reason: 'malformed_report' | 'unsupported_report';
  detail: string;
};

/** The scanner a parsed JSON document comes from, known by its top-level keys; or what else it is. */
export function sniffScanReport(doc: unknown): ScannerName | 'cyclonedx' | 'spdx' | 'trivy-v1' | undefined {
  if (Array.isArray(doc)) {
    // Trivy before SchemaVersion 2 (v0.19 and older) wrote a bare array of results.
    const first = doc[0] as Record<string, unknown> | undefined;
    return first && typeof first === 'object' && 'Target' in first ? 'trivy-v1' : undefined;
  }
  if (doc === null || typeof doc !== 'object') return undefined;
  const o = doc as Record<string, unknown>;
  if ('SchemaVersion' in o && ('ArtifactName' in o || 'Results' in o)) return 'trivy';
  if (Array.isArray(o.matches) && ('source' in o || 'descriptor' in o)) return 'grype';
  if (o.bomFormat === 'CycloneDX') return 'cyclonedx';
  if (typeof o.spdxVersion === 'string') return 'spdx';
  return undefined;
}

const OTHER_FORMATS: Record<string, string> = {
  cyclonedx: 'a CycloneDX document, not a Trivy or Grype JSON report (run the scanner with --format json / -o json)',
  spdx: 'an SPDX document, not a Trivy or Grype JSON report (run the scanner with --format json / -o json)',
  'trivy-v1': 'a Trivy report without SchemaVersion (v0.19 or older); only SchemaVersion 2 is supported',
};

/**
 * Parses one report. `expected` is the format it was configured as; a report of the other scanner is still read
 * (the document's keys say unambiguously which it is). Never throws.
 */
export function parseScanReport(text: string, expected?: ScannerName): ScanReport | ScanReportProblem {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const what = text.trim() === '' ? 'empty document' : `not JSON (truncated?): ${(err as Error).message}`;
    return { reason: 'malformed_report', detail: what };
  }
  const kind = sniffScanReport(doc);
  if (kind === 'trivy' || kind === 'grype') {
    try {
      return kind === 'trivy'
        ? parseTrivyReport(doc as Record<string, unknown>)
        : parseGrypeReport(doc as Record<string, unknown>);
    } catch (err) {
      // The parsers check every field; this is a shape nobody foresaw.
      return { reason: 'malformed_report', detail: `${kind} report not readable: ${(err as Error).message}` };
    }
  }
  if (kind !== undefined) return { reason: 'unsupported_report', detail: OTHER_FORMATS[kind]! };
  return {
    reason: 'unsupported_report',
    detail: `JSON document is neither a Trivy report (SchemaVersion, Results) nor a Grype report (matches, source)${expected ? ` (configured as ${expected})` : ''}`,
  };
}
