// Grype JSON reports (`grype <image> -o json`): the image from source.target, one match per entry of `matches`
// (Grype may list one vulnerability on one package twice, through two matchers: they are one match here).
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
import type { CvssScore, ScanArtifact, ScannedPackage, ScanReport, VulnerabilityMatch } from './scan-reports.ts';

export const GRYPE_SCANNER = { name: 'Grype', vendor: 'Anchore' } as const;
/** Grype's fix states → the words Trivy uses for the same thing. */
const FIX_STATES: Record<string, string> = { fixed: 'fixed', 'not-fixed': 'affected', 'wont-fix': 'will_not_fix' };

export function parseGrypeReport(doc: Obj): ScanReport {
  const source = obj(doc.source) ?? {};
  const descriptor = obj(doc.descriptor) ?? {};
  const artifact = artifactOf(source);
  const distro = obj(doc.distro);
  const os = [text(distro?.name, 64), text(distro?.version, 64)].filter(Boolean).join(' ');
  if (os) artifact.os = os;
  const report: ScanReport = {
    scanner: { ...GRYPE_SCANNER },
    artifact,
    vulnerabilities: [],
    misconfigurations: [],
    secrets: [],
    header: header(source, descriptor, distro),
  };
  // "[not provided]" in builds without version information.
  const version = text(descriptor.version, 64);
  if (version && !version.startsWith('[')) report.scanner.version = version;
  const scanned = time(descriptor.timestamp);
  if (scanned !== undefined) report.time = scanned;
  const seen = new Set<string>();
  for (const m of arr(doc.matches)) {
    const match = matchOf(obj(m));
    if (!match) continue;
    const key = `${match.id}\u0000${match.package.name}\u0000${match.package.version}\u0000${match.package.path ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    report.vulnerabilities.push(match);
  }
  return report;
}

function artifactOf(source: Obj): ScanArtifact {
  const type = text(source.type, 64) ?? 'unknown';
  const target = source.target;
  if (typeof target === 'string') return { name: text(target, 1024)!, type };
  const t = obj(target) ?? {};
  const userInput = text(t.userInput, 1024);
  const artifact: ScanArtifact = { name: userInput ?? 'unknown', type };
  if (type !== 'image') return artifact;
  artifact.image = scannedImage({
    id: t.imageID,
    manifestDigest: t.manifestDigest,
    repoDigests: t.repoDigests,
    names: [...arr(t.tags), userInput],
  });
  return artifact;
}

function header(source: Obj, descriptor: Obj, distro: Obj | undefined): Record<string, unknown> {
  const target = obj(source.target);
  const out: Record<string, unknown> = { source: { type: source.type } };
  if (target) {
    // Not the base64 manifest and config: long, and the config's Env may hold secrets.
    const kept: Record<string, unknown> = {};
    for (const k of ['userInput', 'imageID', 'manifestDigest', 'tags', 'repoDigests', 'architecture', 'os'])
      if (target[k] !== undefined) kept[k] = target[k];
    (out.source as Obj).target = kept;
  } else if (typeof source.target === 'string') (out.source as Obj).target = source.target;
  const d: Record<string, unknown> = {};
  for (const k of ['name', 'version', 'timestamp']) if (descriptor[k] !== undefined) d[k] = descriptor[k];
  out.descriptor = d;
  if (distro) out.distro = { name: distro.name, version: distro.version };
  return out;
}

function matchOf(m: Obj | undefined): VulnerabilityMatch | undefined {
  const vuln = obj(m?.vulnerability);
  const artifact = obj(m?.artifact);
  const id = text(vuln?.id, 256);
  const name = text(artifact?.name, 512);
  if (!m || !vuln || !artifact || !id || !name) return undefined;
  const related = arr(m.relatedVulnerabilities)
    .map(obj)
    .filter((r): r is Obj => r !== undefined);
  const fix = obj(vuln.fix);
  const rawState = text(fix?.state, 32) ?? '';
  const fixedVersions = texts(fix?.versions, 16);
  const details = obj(arr(m.matchDetails)[0]);
  const match: VulnerabilityMatch = {
    id,
    aliases: related.map((r) => text(r.id, 256)).filter((a): a is string => a !== undefined && a !== id),
    severity: severityWord(vuln.severity),
    cwes: [],
    cvss: [...cvssOf(vuln.cvss), ...related.flatMap((r) => cvssOf(r.cvss))],
    references: references([vuln.dataSource], arr(vuln.urls), ...related.map((r) => arr(r.urls))),
    fixState: FIX_STATES[rawState] ?? (rawState || 'unknown'),
    package: packageOf(artifact, fixedVersions),
    knownExploited: arr(vuln.knownExploited).length > 0,
    extra: {
      ...(rawState ? { fix_state: rawState } : {}),
      ...(text(vuln.namespace, 256) ? { namespace: text(vuln.namespace, 256) } : {}),
      ...(text(details?.type, 64) ? { match_type: text(details?.type, 64) } : {}),
      ...(text(details?.matcher, 64) ? { matcher: text(details?.matcher, 64) } : {}),
      ...(num(vuln.risk) !== undefined ? { risk: num(vuln.risk) } : {}),
    },
    raw: m,
  };
  const description = text(vuln.description) ?? related.map((r) => text(r.description)).find(Boolean);
  if (description) match.description = description;
  const dataSource = text(vuln.namespace, 256);
  if (dataSource) match.dataSource = dataSource;
  const epss = obj(arr(vuln.epss)[0]);
  const score = num(epss?.epss);
  if (score !== undefined) {
    match.epss = { score };
    const percentile = num(epss?.percentile);
    if (percentile !== undefined) match.epss.percentile = percentile;
  }
  return match;
}

function cvssOf(list: unknown): CvssScore[] {
  const out: CvssScore[] = [];
  for (const c of arr(list).slice(0, 16)) {
    const o = obj(c);
    const baseScore = num(obj(o?.metrics)?.baseScore);
    if (!o || baseScore === undefined) continue;
    const vector = text(o.vector, 256);
    const version = text(o.version, 16) ?? versionOfVector(vector);
    if (!version) continue;
    const score: CvssScore = { version, baseScore };
    if (vector) score.vector = vector;
    const source = text(o.source, 128);
    if (source) score.source = source;
    out.push(score);
  }
  return out;
}

function packageOf(artifact: Obj, fixedVersions: string[]): ScannedPackage {
  const purl = text(artifact.purl, 2048);
  const manager = text(artifact.type, 64) ?? purlType(purl);
  const pkg: ScannedPackage = {
    name: text(artifact.name, 512)!,
    version: text(artifact.version, 256) ?? 'unknown',
    fixedVersions,
    os: manager !== undefined && OS_PACKAGE_TYPES.has(manager),
  };
  if (purl) pkg.purl = purl;
  if (manager) pkg.manager = manager;
  const location = obj(arr(artifact.locations)[0]);
  const path = text(location?.path, 2048);
  if (path) pkg.path = path;
  const layer = text(location?.layerID, 80);
  if (layer) pkg.layerDigest = layer;
  const metadata = obj(artifact.metadata);
  const arch = text(metadata?.architecture, 64) ?? purlQualifier(purl, 'arch');
  if (arch) pkg.architecture = arch;
  const epoch = num(metadata?.epoch);
  if (epoch !== undefined && Number.isInteger(epoch)) pkg.epoch = epoch;
  const cpe = texts(artifact.cpes, 1)[0];
  if (cpe) pkg.cpe = cpe;
  const licenses = texts(artifact.licenses, 16);
  if (licenses.length > 0) pkg.licenses = licenses;
  return pkg;
}
