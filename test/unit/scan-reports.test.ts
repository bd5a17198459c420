// The trivy and grype formats on the shared scanner reports (../shared/corpora/scan-reports): every output compared
// with the reviewed golden files under test/golden/scan-reports/ (UPDATE_GOLDEN=1 rewrites them), counted by class
// and severity, validated with the independent OCSF validator; plus uid stability, bad and partial reports, hostile
// shapes, and secrets whose value must never travel.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { normalise } from '../../src/cli/normalise.ts';
import type { DocumentContext } from '../../src/formats/decoder.ts';
import { findInputFormat } from '../../src/formats/index.ts';
import { decodeScanReport } from '../../src/formats/scan-reports.ts';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { CORPORA, REPO_ROOT, recordOutput, validateOcsf } from '../support/output.ts';

const REPORTS = join(CORPORA, 'scan-reports');
const GOLDEN = join(REPO_ROOT, 'test', 'golden', 'scan-reports');
/** The time a report that says none gets (its file's modification time): pinned for golden files. */
const MODIFIED = Date.UTC(2026, 10, 23, 12, 0, 0);

function decode(text: string, format: 'trivy' | 'grype' = 'trivy', path = 'report.json') {
  const problems: string[] = [];
  const ctx: DocumentContext = {
    source: 'golden',
    hostname: 'golden-host',
    path,
    modified: MODIFIED,
    onProblem: (reason) => problems.push(reason),
  };
  const decoded = decodeScanReport(text, format, ctx);
  return { events: decoded.map((d) => d.event), raws: decoded.map((d) => d.raw), problems };
}

interface Vuln {
  cve: { uid: string; related_cwes?: unknown; cvss?: unknown[]; epss?: unknown };
  related_vulnerabilities?: string[];
  affected_packages: Array<Record<string, unknown>>;
  is_fix_available: boolean;
  first_seen_time: number;
  references: string[];
  desc: string;
}

const vulnOf = (e: OcsfEvent): Vuln => (e.vulnerabilities as Vuln[])[0]!;

function corpus(name: string): string {
  return readFileSync(join(REPORTS, name), 'utf8');
}

function checkGolden(name: string, events: OcsfEvent[]): void {
  const target = join(GOLDEN, `${name}.ndjson`);
  const text = events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(target)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(target, text);
  }
  expect(text, `golden test/golden/scan-reports/${name}.ndjson`).toBe(readFileSync(target, 'utf8'));
}

/** "class:severity" → count. */
function census(events: OcsfEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    const key = `${e.class_uid}:${String(e.severity)}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const EXPECTED: Record<string, { format: 'trivy' | 'grype'; census: Record<string, number> }> = {
  'trivy-alpine-310.json': { format: 'trivy', census: { '6007:Informational': 1, '2002:Medium': 4 } },
  'trivy-debian-buster.json': {
    format: 'trivy',
    census: { '6007:Informational': 1, '2002:Low': 1, '2002:Critical': 1 },
  },
  'trivy-fluentd-gems.json': {
    format: 'trivy',
    census: { '6007:Informational': 1, '2002:Critical': 1, '2002:High': 1 },
  },
  'trivy-dockerfile.json': { format: 'trivy', census: { '6007:Informational': 1, '2003:High': 1 } },
  'grype-chainguard-ruby-test.json': { format: 'grype', census: { '6007:Informational': 1, '2002:High': 3 } },
  'grype-TestJsonImgsPresenter.json': {
    format: 'grype',
    census: { '6007:Informational': 1, '2002:Low': 1, '2002:Critical': 1 },
  },
  // Trivy's CycloneDX output is another format: one flagged Base Event, counted.
  'trivy-fluentd-multiple-lockfiles-short.cdx.json': { format: 'trivy', census: { '0:Informational': 1 } },
};

describe('shared scan reports', () => {
  const all: OcsfEvent[] = [];
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name}: ${JSON.stringify(expected.census)}, golden`, () => {
      const { events, problems } = decode(corpus(name), expected.format, name);
      expect(census(events)).toEqual(expected.census);
      expect(problems).toEqual(name.endsWith('.cdx.json') ? ['unsupported_report'] : []);
      checkGolden(name.replace(/\.json$/, ''), events);
      all.push(...events);
    });
  }

  it('every event validates', () => {
    const result = validateOcsf(recordOutput('unit/scan-reports', all));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('maps a Trivy vulnerability: CVE, CVSS per source, CWE, package with purl and fix, image, scanner', () => {
    const { events } = decode(corpus('trivy-fluentd-gems.json'));
    const gem = events.find((e) => (e.finding_info as { title: string })?.title?.startsWith('CVE-2020-8165'))!;
    expect(gem).toMatchObject({
      class_uid: 2002,
      activity_id: 1,
      severity_id: 4,
      time: Date.parse('2021-08-25T12:20:30.000000005Z'),
      metadata: { product: { name: 'Trivy', vendor_name: 'Aqua Security', version: 'dev' }, log_name: 'trivy' },
      finding_info: { title: 'CVE-2020-8165 in activesupport 6.0.2.1', product: { name: 'Trivy' } },
      resources: [
        {
          type: 'container_image',
          uid: 'sha256:5a992077baba51b97f27591a10d54d2f2723dc9c81a3fe419e261023f2554933',
          name: 'ghcr.io/aquasecurity/trivy-test-images',
          version: 'fluentd-multiple-lockfiles',
        },
      ],
    });
    const v = vulnOf(gem);
    expect(v.cve.uid).toBe('CVE-2020-8165');
    expect(v.cve.related_cwes).toEqual([{ uid: 'CWE-502' }]);
    expect(v.cve.cvss).toContainEqual({
      version: '3.1',
      base_score: 9.8,
      depth: 'Base',
      vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      vendor_name: 'nvd',
    });
    expect(v.affected_packages).toEqual([
      {
        name: 'activesupport',
        version: '6.0.2.1',
        type_id: 1,
        fixed_in_version: '6.0.3.1, 5.2.4.3',
        purl: 'pkg:gem/activesupport@6.0.2.1',
        package_manager: 'gem',
        path: 'var/lib/gems/2.5.0/specifications/activesupport-6.0.2.1.gemspec',
      },
    ]);
    expect(v.is_fix_available).toBe(true);
    expect(v.first_seen_time).toBe(gem.time);
    expect(v.references.length).toBeGreaterThan(3);
  });

  it('maps a Grype match: a GHSA with its CVE, EPSS, known exploitation, no fix', () => {
    const chainguard = decode(corpus('grype-chainguard-ruby-test.json'), 'grype').events;
    const ghsa = chainguard.find((e) => (e.finding_info as { title: string } | undefined)?.title.startsWith('GHSA-'))!;
    const v = vulnOf(ghsa);
    expect(v.cve.uid).toBe('CVE-2023-28755');
    expect(v.related_vulnerabilities).toEqual(['GHSA-hv5j-3h9f-99c2']);
    const synthetic = decode(corpus('grype-TestJsonImgsPresenter.json'), 'grype').events;
    const critical = synthetic.find((e) => e.severity_id === 5)!;
    const c = vulnOf(critical);
    expect(c).toMatchObject({ is_fix_available: false, is_exploit_available: true });
    expect(c.cve.epss).toEqual({ score: '0.08', percentile: 0.53 });
    expect(c.affected_packages[0]).toMatchObject({ name: 'package-2', package_manager: 'deb', type_id: 2 });
    expect(critical.metadata.product).toEqual({ name: 'Grype', vendor_name: 'Anchore' });
  });

  it('maps a Trivy misconfiguration to a Compliance Finding with its control, status and remediation', () => {
    const [, finding] = decode(corpus('trivy-dockerfile.json')).events;
    expect(finding).toMatchObject({
      class_uid: 2003,
      compliance: { control: 'DS-0002', status_id: 3, status: 'Fail' },
      remediation: { desc: "Add 'USER <non root user name>' line to the Dockerfile" },
      finding_info: { title: "Image user should not be 'root'" },
    });
  });

  it('gives the same report the same uids, and a rerun of the scanner the same finding uids', () => {
    const text = corpus('trivy-alpine-310.json');
    const first = decode(text).events;
    const again = decode(text).events;
    expect(again.map((e) => e.metadata.uid)).toEqual(first.map((e) => e.metadata.uid));
    const rerun = decode(
      text.replace('"2021-08-25T12:20:30.000000005Z"', '"2026-01-02T03:04:05Z"').replace(/017b7d41-[0-9a-f-]+/, 'x'),
    ).events;
    const uids = (events: OcsfEvent[]) => events.slice(1).map((e) => (e.finding_info as { uid: string }).uid);
    expect(uids(rerun)).toEqual(uids(first));
    expect(new Set(uids(first)).size).toBe(4);
    expect(rerun[0]!.metadata.uid).not.toBe(first[0]!.metadata.uid);
    expect(rerun[1]!.metadata.correlation_uid).not.toBe(first[1]!.metadata.correlation_uid);
    expect(rerun[1]!.time).toBe(Date.parse('2026-01-02T03:04:05Z'));
  });

  it('reads a Grype report given to the trivy format, and the reverse (the keys say which it is)', () => {
    expect(census(decode(corpus('grype-chainguard-ruby-test.json'), 'trivy').events)).toEqual(
      EXPECTED['grype-chainguard-ruby-test.json']!.census,
    );
    expect(census(decode(corpus('trivy-alpine-310.json'), 'grype').events)).toEqual(
      EXPECTED['trivy-alpine-310.json']!.census,
    );
  });
});

describe('bad and partial reports', () => {
  const alpine = corpus('trivy-alpine-310.json');

  function bad(text: string, reason: string, detail: RegExp) {
    const { events, problems } = decode(text);
    expect(problems).toEqual([reason]);
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(e!.class_uid).toBe(0);
    expect(e!.message).toMatch(detail);
    expect((e!.unmapped as { outrider_problems: string[] }).outrider_problems[0]).toMatch(detail);
    return e!;
  }

  it('a truncated report: one flagged Base Event holding its beginning, counted', () => {
    const e = bad(alpine.slice(0, 5000), 'malformed_report', /not JSON \(truncated\?\)/);
    expect(e.raw_data).toBe(alpine.slice(0, 5000));
    expect(e.time).toBe(MODIFIED);
  });

  it('a large bad report keeps only its first 64 KiB, flagged truncated', () => {
    const text = `${alpine.slice(0, -10)}${' '.repeat(100_000)}`;
    const e = bad(text, 'malformed_report', /not JSON/);
    expect(e.raw_data).toHaveLength(64 * 1024);
    expect(e.metadata).toMatchObject({ is_truncated: true, untruncated_size: Buffer.byteLength(text) });
  });

  it('an unknown SchemaVersion, a pre-2 Trivy array, other JSON, an empty file, not JSON at all', () => {
    bad(alpine.replace('"SchemaVersion": 2', '"SchemaVersion": 3'), 'unsupported_report', /SchemaVersion 3 is not/);
    bad('[{"Target": "x", "Vulnerabilities": []}]', 'unsupported_report', /without SchemaVersion/);
    bad('{"hello": "world"}', 'unsupported_report', /neither a Trivy report/);
    bad('', 'malformed_report', /empty document/);
    bad('garbage', 'malformed_report', /not JSON/);
  });

  it('a report without vulnerabilities: its Scan Activity alone, 0 detections, no problem', () => {
    const doc = JSON.parse(alpine);
    doc.Results[0].Vulnerabilities = [];
    const { events, problems } = decode(JSON.stringify(doc));
    expect(problems).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ class_uid: 6007, activity_id: 2, num_detections: 0 });
    expect(events[0]!.message).toMatch(/0 vulnerabilities/);
    const noResults = decode('{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image"}');
    expect(noResults.events.map((e) => e.num_detections)).toEqual([0]);
  });

  it('hostile shapes: wrong types are skipped, huge texts cut, nothing throws', () => {
    const doc = JSON.parse(alpine);
    const [good] = doc.Results[0].Vulnerabilities;
    doc.Results[0].Vulnerabilities = [
      { ...good, Description: 'x'.repeat(1_000_000), References: Array(10_000).fill('https://e.x/') },
      { ...good, VulnerabilityID: 7 },
      null,
      'text',
      { ...good, PkgName: undefined },
      { ...good, VulnerabilityID: 'CVE-2019-9999', CVSS: { nvd: 'x', a: { V3Score: 'high' } }, CweIDs: 'CWE-1' },
    ];
    doc.Results.push(null, { Vulnerabilities: 'x', Misconfigurations: {}, Secrets: [1] });
    doc.Metadata = 'x';
    const { events, problems } = decode(JSON.stringify(doc));
    expect(problems).toEqual([]);
    expect(census(events)).toEqual({ '6007:Informational': 1, '2002:Medium': 2 });
    const v = vulnOf(events[1]!);
    expect(v.desc.length).toBeLessThan(9000);
    expect(v.references.length).toBeLessThanOrEqual(32);
    const result = validateOcsf(recordOutput('unit/scan-reports-hostile', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('secrets found in an image', () => {
  // Shaped like Trivy's secret scanning output; the values are made up for this test.
  const SECRET = 'AKIAZZZZZZZZZZZZZZZZ';
  const CONTEXT_SECRET = 'ghp_TESTONLYtestonlyTESTONLYtestonly0000';
  const report = {
    SchemaVersion: 2,
    CreatedAt: '2026-02-03T04:05:06Z',
    ArtifactName: 'registry.example/team/app:1.2',
    ArtifactType: 'container_image',
    Metadata: {
      ImageID: `sha256:${'a'.repeat(64)}`,
      RepoTags: ['registry.example/team/app:1.2'],
      RepoDigests: [`registry.example/team/app@sha256:${'b'.repeat(64)}`],
    },
    Results: [
      {
        Target: '/app/deploy.sh',
        Class: 'secret',
        Secrets: [
          {
            RuleID: 'aws-access-key-id',
            Category: 'AWS',
            Severity: 'CRITICAL',
            Title: 'AWS Access Key ID',
            StartLine: 3,
            EndLine: 3,
            Code: {
              Lines: [
                { Number: 2, Content: `export GITHUB_PAT=${CONTEXT_SECRET}`, IsCause: false },
                { Number: 3, Content: `export AWS_ACCESS_KEY_ID=${SECRET}`, IsCause: true },
              ],
            },
            Match: `export AWS_ACCESS_KEY_ID=${SECRET}`,
            Layer: { Digest: `sha256:${'c'.repeat(64)}` },
          },
        ],
      },
    ],
  };

  it('are Data Security Findings naming the rule, file and line, never the secret or the lines around it', () => {
    const { events, raws } = decode(JSON.stringify(report));
    expect(census(events)).toEqual({ '6007:Informational': 1, '2006:Critical': 1 });
    const finding = events[1]!;
    expect(finding).toMatchObject({
      finding_info: { title: 'AWS Access Key ID in /app/deploy.sh', types: ['Secret'] },
      data_security: { detection_pattern: 'aws-access-key-id', detection_system_id: 11, data_lifecycle_state_id: 1 },
      file: { path: '/app/deploy.sh', name: 'deploy.sh' },
      unmapped: { trivy: { start_line: 3, category: 'AWS' } },
      resources: [{ uid: `sha256:${'a'.repeat(64)}`, name: 'registry.example/team/app', version: '1.2' }],
    });
    expect(finding.raw_data).toBeUndefined();
    const everything = JSON.stringify(events) + raws.join('');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(CONTEXT_SECRET);
    const result = validateOcsf(recordOutput('unit/scan-reports-secrets', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('outrider normalise --format trivy', () => {
  it('reads the whole file as one report', async () => {
    let text = '';
    const out = new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    });
    const summary = await normalise('trivy', join(REPORTS, 'trivy-debian-buster.json'), out, 'host');
    expect(summary).toMatchObject({ format: 'trivy', events: 3, problems: {} });
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as OcsfEvent);
    expect(events.map((e) => e.class_uid)).toEqual([6007, 2002, 2002]);
    expect(findInputFormat('grype')).toBeDefined();
  });
});
