// Scan findings joined to real containers: the shared Trivy report of debian-buster (one critical, one low), its
// image id rewritten to the locally imported test image's, read by a file source, joined by vulnerability_context
// to what docker_metadata sees running on the real engine. A container started from the image gets its findings
// (Update, with its id, name, node, and — from its io.kubernetes.* labels — pod and namespace) and a start alert;
// stopping it closes them; the scanner's rerun replaces the image's findings.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { containersOf, resourcesOf, titleOf, trivyReportOf } from '../support/findings.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const ok = await requireComponents('docker', 'root');

const POD_UID = '3f2b9c1e-8d4a-4e6f-9b7c-1a2d3e4f5a6b';

describe.skipIf(!ok)('vulnerability findings joined to real containers', () => {
  const name = `outrider-vuln-${process.pid}`;
  const dir = tempDir();
  const reports = join(dir, 'reports');
  const out = join(dir, 'out.ndjson');
  let outrider: TestOutrider;
  let imageId = '';
  let containerId = '';
  let report = '';

  const events = () => readNdjson<OcsfEvent>(out);
  const ofContainer = () => events().filter((e) => containersOf(e).some((c) => c.uid === containerId));

  beforeAll(async () => {
    const image = await ensureTestImage();
    imageId = await docker('image', 'inspect', '--format', '{{.Id}}', image);
    // The shared report names another image: it becomes the report of ours.
    report = JSON.stringify(trivyReportOf(image, imageId), null, 2);
    mkdirSync(reports, { recursive: true });
    writeFileSync(join(reports, 'busybox.json'), report);
    outrider = await startTestOutrider(
      {
        sources: {
          reports: { type: 'file', format: 'trivy', include: [join(reports, '*.json')], glob_interval: '200ms' },
        },
        transforms: {
          meta: { type: 'docker_metadata', inputs: ['reports'] },
          vulns: { type: 'vulnerability_context', inputs: ['meta'], update_delay: '200ms', alert_severity: 'High' },
        },
        sinks: { out: { type: 'file', inputs: ['vulns'], path: out, batch: { timeout: '50ms' } } },
      },
      join(dir, 'data'),
    );
  });

  afterAll(async () => {
    await docker('rm', '-f', name).catch(() => undefined);
    await outrider?.stop();
    const all = events();
    if (all.length > 0) {
      const result = validateOcsf(recordOutput('e2e/vulnerable-containers', all));
      if (result) expect(result.failed, result.output).toBe(0);
    }
  });

  it('reads the report: a Scan Activity and a Create per finding, about our image', async () => {
    expect(await waitFor(() => events().length === 3, 20_000)).toBe(true);
    const [scan, ...findings] = events();
    expect(scan).toMatchObject({ class_uid: 6007, num_detections: 2 });
    expect(findings.map((e) => [e.class_uid, e.activity_id, e.severity])).toEqual([
      [2002, 1, 'Low'],
      [2002, 1, 'Critical'],
    ]);
    expect(resourcesOf(findings[0]!)[0]).toMatchObject({ type: 'container_image', uid: imageId });
  });

  it('a container started from the image: its findings name it, with pod and namespace, and an alert', async () => {
    containerId = await docker(
      'run',
      '-d',
      '--name',
      name,
      '--label',
      'io.kubernetes.pod.name=web-1',
      '--label',
      'io.kubernetes.pod.namespace=shop',
      '--label',
      `io.kubernetes.pod.uid=${POD_UID}`,
      '--label',
      'io.kubernetes.container.name=app',
      await ensureTestImage(),
      'sleep',
      '300',
    );
    expect(await waitFor(() => ofContainer().length >= 3, 20_000)).toBe(true);
    const joined = ofContainer();
    const updates = joined.filter((e) => e.class_uid === 2002);
    expect(updates.map((e) => e.activity_id)).toEqual([2, 2]);
    for (const e of updates) {
      expect(containersOf(e)).toEqual([
        {
          type: 'container',
          uid: containerId,
          name,
          role_id: 3,
          hostname: expect.any(String),
          namespace: 'shop',
          tags: [
            { name: 'container.runtime', value: 'docker' },
            { name: 'k8s.namespace.name', value: 'shop' },
            { name: 'k8s.pod.name', value: 'web-1' },
            { name: 'k8s.pod.uid', value: POD_UID },
            { name: 'k8s.container.name', value: 'app' },
          ],
        },
      ]);
    }
    const alerts = joined.filter((e) => e.class_uid === 2004);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      severity_id: 5,
      is_alert: true,
      device: {
        container: { uid: containerId, name, image: { uid: imageId }, pod_uuid: POD_UID },
      },
    });
    expect(alerts[0]!.message).toMatch(
      /^pod shop\/web-1 started from .*which has known findings at or above High: 1 critical \(CVE-2019-18224\)$/,
    );
  });

  it('a rerun of the scanner replaces the image’s findings: Update for one still listed, Close for one gone', async () => {
    const before = events().length;
    const doc = JSON.parse(report);
    doc.CreatedAt = '2026-06-01T00:00:00Z';
    doc.Results[0].Vulnerabilities = doc.Results[0].Vulnerabilities.filter(
      (v: { VulnerabilityID: string }) => v.VulnerabilityID !== 'CVE-2019-18276',
    );
    writeFileSync(join(reports, 'busybox.json'), JSON.stringify(doc, null, 2));
    expect(await waitFor(() => events().length >= before + 3, 20_000)).toBe(true);
    const rerun = events()
      .slice(before)
      .filter((e) => e.class_uid === 2002);
    expect(rerun.map((e) => [titleOf(e).split(' ')[0], e.activity_id, containersOf(e).map((c) => c.uid)])).toEqual([
      ['CVE-2019-18224', 2, [containerId]],
      ['CVE-2019-18276', 3, [containerId]],
    ]);
    expect(rerun[1]!.status_detail).toBe('no longer reported by Trivy');
  });

  it('stopping the container closes the image’s findings', async () => {
    const before = events().length;
    await docker('stop', '-t', '0', name);
    expect(await waitFor(() => events().length >= before + 1, 20_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    const closed = events().slice(before);
    expect(closed.map((e) => [e.class_uid, e.activity_id, titleOf(e).split(' ')[0]])).toEqual([
      [2002, 3, 'CVE-2019-18224'],
    ]);
    expect(closed[0]!.status_detail).toBe('no running container uses the image any more');
    expect(containersOf(closed[0]!)).toEqual([]);
  });
});
