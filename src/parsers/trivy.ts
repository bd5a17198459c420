// Trivy JSON reports (`trivy image --format json`, SchemaVersion 2): the image from Metadata, one match per entry of
// Results[].Vulnerabilities, Misconfigurations and Secrets. A secret's Match and Code (the secret and the lines
// around it) are never read.
import {
  arr,
  num,
  type Obj,
  OS_PACKAGE_TYPES,
  obj,
  purlQualifier,
  purlType,
  references,
  scannedImage,
  severityWord,
  text,
  texts,
  time,
  versionOfVector,
} from './scan-fields.ts';
import type {
  CvssScore,
  Misconfiguration,
  ScanArtifact,
  ScannedImage,
  ScanReport,
  ScanReportProblem,
  SecretFinding,
  VulnerabilityMatch,
} from './scan-reports.ts';

export const TRIVY_SCANNER = { name: 'Trivy', vendor: 'Aqua Security' } as const;
const SUPPORTED_SCHEMA = 2;

export function parseTrivyReport(doc: Obj): ScanReport | ScanReportProblem {
  if (doc.SchemaVersion !== SUPPORTED_SCHEMA)
    return {
      reason: 'unsupported_report',
      detail: `Trivy report SchemaVersion ${JSON.stringify(doc.SchemaVersion) ?? 'missing'} is not supported (${SUPPORTED_SCHEMA} is)`,
    };
  const meta = obj(doc.Metadata) ?? {};
  const artifact: ScanArtifact = {
    name: text(doc.ArtifactName, 1024) ?? 'unknown',
    type: text(doc.ArtifactType, 64) ?? 'unknown',
  };
  const image = imageOf(artifact, meta);
  if (image) artifact.image = image;
  const os = obj(meta.OS);
  const osText = [text(os?.Family, 64), text(os?.Name, 64)].filter(Boolean).join(' ');
  if (osText) artifact.os = osText;
  const report: ScanReport = {
    scanner: { ...TRIVY_SCANNER },
    artifact,
    vulnerabilities: [],
    misconfigurations: [],
    secrets: [],
    header: header(doc, meta),
  };
  const version = text(obj(doc.Trivy)?.Version, 64);
  if (version) report.scanner.version = version;
  const reportId = text(doc.ReportID, 128);
  if (reportId) report.reportId = reportId;
  const created = time(doc.CreatedAt);
  if (created !== undefined) report.time = created;
  for (const r of arr(doc.Results)) {
    const result = obj(r);
    if (!result) continue;
    const target = text(result.Target, 1024) ?? artifact.name;
    for (const v of arr(result.Vulnerabilities)) {
      const match = vulnerability(obj(v), result, target);
      if (match) report.vulnerabilities.push(match);
    }
    for (const m of arr(result.Misconfigurations)) {
      const misconf = misconfiguration(obj(m), target);
      if (misconf) report.misconfigurations.push(misconf);
    }
    for (const s of arr(result.Secrets)) {
      const secret = secretFinding(obj(s), target);
      if (secret) report.secrets.push(secret);
    }
  }
  return report;
}

function imageOf(artifact: ScanArtifact, meta: Obj): ScannedImage | undefined {
  const isImage = artifact.type === 'container_image' || artifact.type === 'container-image';
  if (!isImage && meta.ImageID === undefined) return undefined;
  return scannedImage({
    id: meta.ImageID,
    repoDigests: meta.RepoDigests,
    names: [...arr(meta.RepoTags), artifact.name],
  });
}

function header(doc: Obj, meta: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['SchemaVersion', 'ReportID', 'CreatedAt', 'ArtifactID', 'ArtifactName', 'ArtifactType'])
    if (doc[k] !== undefined) out[k] = doc[k];
  const m: Record<string, unknown> = {};
  // Not ImageConfig: its Env may hold secrets and its history is long.
  for (const k of ['ImageID', 'RepoTags', 'RepoDigests', 'OS']) if (meta[k] !== undefined) m[k] = meta[k];
  if (Object.keys(m).length > 0) out.Metadata = m;
  return out;
}

function vulnerability(v: Obj | undefined, result: Obj, target: string): VulnerabilityMatch | undefined {
  const id = text(v?.VulnerabilityID, 256);
  const name = text(v?.PkgName, 512);
  if (!v || !id || !name) return undefined;
  const ident = obj(v.PkgIdentifier);
  const purl = text(ident?.PURL, 2048);
  const resultType = text(result.Type, 64);
  const manager = purlType(purl) ?? resultType;
  const fixedVersions = (text(v.FixedVersion, 1024) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const layer = obj(v.Layer);
  const pkg: VulnerabilityMatch['package'] = {
    name,
    version: text(v.InstalledVersion, 256) ?? 'unknown',
    fixedVersions,
    os: result.Class === 'os-pkgs' || (manager !== undefined && OS_PACKAGE_TYPES.has(manager)),
  };
  if (purl) pkg.purl = purl;
  if (manager) pkg.manager = manager;
  const path = text(v.PkgPath, 2048);
  if (path) pkg.path = path;
  const arch = purlQualifier(purl, 'arch');
  if (arch) pkg.architecture = arch;
  const layerDigest = text(layer?.Digest, 80) ?? text(layer?.DiffID, 80);
  if (layerDigest) pkg.layerDigest = layerDigest;
  const status = text(v.Status, 64);
  const match: VulnerabilityMatch = {
    id,
    aliases: texts(v.VendorIDs, 16).filter((a) => a !== id),
    severity: severityWord(v.Severity),
    cwes: texts(v.CweIDs, 16),
    cvss: cvssOf(obj(v.CVSS)),
    references: references([v.PrimaryURL], arr(v.References)),
    fixState: status ?? (fixedVersions.length > 0 ? 'fixed' : 'unknown'),
    package: pkg,
    knownExploited: false,
    target,
    extra: {
      ...(status ? { status } : {}),
      ...(text(v.PkgID) ? { pkg_id: text(v.PkgID) } : {}),
      ...(text(result.Class, 64) ? { class: text(result.Class, 64) } : {}),
      ...(resultType ? { type: resultType } : {}),
      target,
    },
    raw: v,
  };
  const severitySource = text(v.SeveritySource, 64);
  if (severitySource) match.severitySource = severitySource;
  const title = text(v.Title, 1024);
  if (title) match.title = title;
  const description = text(v.Description);
  if (description) match.description = description;
  const published = time(v.PublishedDate);
  if (published !== undefined) match.published = published;
  const modified = time(v.LastModifiedDate);
  if (modified !== undefined) match.modified = modified;
  const dataSource = text(obj(v.DataSource)?.Name, 256);
  if (dataSource) match.dataSource = dataSource;
  return match;
}

/** Trivy's `CVSS: {nvd: {V3Vector, V3Score, V2…, V40…}, redhat: {…}}` → one score per source and version. */
function cvssOf(cvss: Obj | undefined): CvssScore[] {
  const out: CvssScore[] = [];
  if (!cvss) return out;
  for (const [source, value] of Object.entries(cvss).slice(0, 16)) {
    const s = obj(value);
    if (!s) continue;
    for (const [scoreKey, vectorKey, fallback] of [
      ['V40Score', 'V40Vector', '4.0'],
      ['V3Score', 'V3Vector', '3.0'],
      ['V2Score', 'V2Vector', '2.0'],
    ] as const) {
      const baseScore = num(s[scoreKey]);
      if (baseScore === undefined) continue;
      const vector = text(s[vectorKey], 256);
      const score: CvssScore = { version: versionOfVector(vector) ?? fallback, baseScore, source };
      if (vector) score.vector = vector;
      out.push(score);
    }
  }
  return out;
}

function misconfiguration(m: Obj | undefined, target: string): Misconfiguration | undefined {
  const id = text(m?.ID, 256) ?? text(m?.AVDID, 256);
  if (!m || !id) return undefined;
  const cause = obj(m.CauseMetadata);
  const out: Misconfiguration = {
    id,
    title: text(m.Title, 1024) ?? id,
    severity: severityWord(m.Severity),
    status: (text(m.Status, 32) ?? 'fail').toLowerCase(),
    references: references([m.PrimaryURL], arr(m.References)),
    target,
    // Cause code lines may quote secrets from the scanned files: not kept.
    raw: cause ? { ...m, CauseMetadata: { ...cause, Code: undefined } } : m,
  };
  const fields = [
    ['type', m.Type],
    ['description', m.Description],
    ['message', m.Message],
    ['resolution', m.Resolution],
    ['provider', cause?.Provider],
    ['service', cause?.Service],
    ['resource', cause?.Resource],
  ] as const;
  for (const [key, value] of fields) {
    const t = text(value);
    if (t) out[key] = t;
  }
  const start = num(cause?.StartLine);
  if (start !== undefined) out.startLine = start;
  const end = num(cause?.EndLine);
  if (end !== undefined) out.endLine = end;
  return out;
}

function secretFinding(s: Obj | undefined, target: string): SecretFinding | undefined {
  const ruleId = text(s?.RuleID, 256);
  if (!s || !ruleId) return undefined;
  const out: SecretFinding = {
    ruleId,
    title: text(s.Title, 1024) ?? ruleId,
    severity: severityWord(s.Severity),
    target,
  };
  const category = text(s.Category, 128);
  if (category) out.category = category;
  const start = num(s.StartLine);
  if (start !== undefined) out.startLine = start;
  const end = num(s.EndLine);
  if (end !== undefined) out.endLine = end;
  const layer = obj(s.Layer);
  const layerDigest = text(layer?.Digest, 80) ?? text(layer?.DiffID, 80);
  if (layerDigest) out.layerDigest = layerDigest;
  return out;
}
