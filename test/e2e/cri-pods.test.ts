// Kubernetes pods end to end, made the way kubelet makes them, on the test's own containerd (CRI API): their CRI log
// files are tailed, every line gets the container and pod metadata from the cri_metadata transform, and an auditd
// record of a process exec'd into a pod is attributed to that pod. Each case is checked line by line: a pod with two
// containers and labels/annotations, a container that lives for milliseconds and whose pod is removed at once, a
// restarted container (attempt 1 writes 1.log), kubelet-style rotation under load, a 20,000-character line. And scan
// findings joined to pods: the shared Trivy report of debian-buster, rewritten to be the report of the pods' image
// (its repo digest as containerd knows it), read by vulnerability_context, which learns from cri_metadata which pods
// run it: their findings name the pod, namespace and node; removing the pod closes them.
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { addAuditRule, auditRule, deleteAuditRule, liveAuditSource } from '../support/audit.ts';
import { TestContainerd, type TestPod } from '../support/containerd.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { containersOf, titleOf, trivyReportOf } from '../support/findings.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import {
  expectLines,
  readNdjson,
  startTestOutrider,
  type TestOutrider,
  tempDir,
  waitFor,
} from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const ok = await requireComponents('root', 'docker', 'containerd');
const withAudit = ok && (await requireComponents('auditd'));
const NODE = 'node-under-test';
const KEY = `outrider-cri-${process.pid}`;
/** Only processes of a uid no one else uses: the audit rule sees our pod's processes and nothing else. */
const AUDITED_UID = 4243;
const RULE = auditRule(KEY, String(AUDITED_UID), ['execve']);

interface Container {
  uid?: string;
  name?: string;
  runtime?: string;
  image?: { uid?: string; name?: string; tags?: Array<{ name: string; value: string }> };
  hash?: { algorithm_id: number; value: string };
  pod_uuid?: string;
  labels?: string[];
  tags?: Array<{ name: string; value: string }>;
}
interface Ev extends OcsfEvent {
  message?: string;
  device?: { container?: Container };
  process?: { cmd_line?: string; container?: Container };
  unmapped?: { fields?: Record<string, unknown>; outrider_enrichment_missing?: string };
}

const tag = (c: Container | undefined, name: string) => c?.tags?.find((t) => t.name === name)?.value;

describe.skipIf(!ok)('Kubernetes pods on containerd, enriched over the CRI', () => {
  let ctd: TestContainerd;
  let outrider: TestOutrider;
  let out: string;
  /** What vulnerability_context emits (a file of its own: the log lines' checks above see only log lines). */
  let findingsOut: string;
  const findings = () => readNdjson<OcsfEvent>(findingsOut);
  // The output grows to tens of MB: read it incrementally (whole lines only), not again from the start every poll.
  const seen: Ev[] = [];
  let readUpTo = 0;
  const events = () => {
    if (!existsSync(out)) return seen;
    const size = statSync(out).size;
    if (size <= readUpTo) return seen;
    const bytes = Buffer.alloc(size - readUpTo);
    const fd = openSync(out, 'r');
    try {
      readSync(fd, bytes, 0, bytes.length, readUpTo);
    } finally {
      closeSync(fd);
    }
    const end = bytes.lastIndexOf(10) + 1;
    for (const line of bytes.toString('utf8', 0, end).split('\n')) if (line) seen.push(JSON.parse(line) as Ev);
    readUpTo += end;
    return seen;
  };
  const ofContainer = (id: string) => events().filter((e) => e.device?.container?.uid === id);
  const ofLog = (pod: TestPod, name: string, attempt = 0) =>
    events().filter((e) => e.metadata.log_source === join(pod.logDir, name, `${attempt}.log`));

  beforeAll(async () => {
    ctd = await TestContainerd.start();
    await ctd.importImages();
    if (withAudit) await addAuditRule(RULE);
    const dir = tempDir();
    out = join(dir, 'out', 'events.ndjson');
    findingsOut = join(dir, 'out', 'findings.ndjson');
    // The shared report names another image: it becomes the report of ours, known by its id (the config digest
    // Docker and containerd share) and its repo digest (what the CRI reports as the pods' image).
    const image = await ensureTestImage();
    const report = trivyReportOf(image, await docker('image', 'inspect', '--format', '{{.Id}}', image), [
      ctd.busyboxDigest,
    ]);
    mkdirSync(join(dir, 'reports'));
    writeFileSync(join(dir, 'reports', 'busybox.json'), JSON.stringify(report, null, 2));
    outrider = await startTestOutrider(
      {
        sources: {
          pods: {
            type: 'container_logs',
            include: [`${ctd.podLogs}/*/*/*.log`],
            poll_interval: '50ms',
            glob_interval: '200ms',
            rotate_wait: '3s',
          },
          ...(withAudit ? { audit: liveAuditSource } : {}),
          reports: { type: 'file', format: 'trivy', include: [join(dir, 'reports', '*.json')], glob_interval: '200ms' },
        },
        transforms: {
          meta: {
            type: 'cri_metadata',
            inputs: withAudit ? ['pods', 'audit'] : ['pods'],
            socket: ctd.socket,
            log_directory: ctd.podLogs,
            node_name: NODE,
            pod_labels: { keys: ['app'], prefixes: ['example.com/'] },
            pod_annotations: { keys: ['owner'], prefixes: [] },
          },
          vulns: { type: 'vulnerability_context', inputs: ['reports'], update_delay: '200ms', alert_severity: 'High' },
        },
        sinks: {
          out: { type: 'file', inputs: ['meta'], path: out, batch: { timeout: '20ms' } },
          findings: { type: 'file', inputs: ['vulns'], path: findingsOut, batch: { timeout: '20ms' } },
        },
      },
      join(dir, 'data'),
      'info',
    );
  }, 180_000);

  afterAll(async () => {
    if (withAudit) await deleteAuditRule(RULE);
    await outrider?.stop();
    await ctd?.stop();
    const v = validateOcsf(recordOutput('e2e/cri-pods', events()));
    if (v) expect(v.failed, v.output).toBe(0);
    const f = validateOcsf(recordOutput('e2e/cri-pods-findings', findings()));
    if (f) expect(f.failed, f.output).toBe(0);
  }, 120_000);

  /** Every event carries the full description of its container (checked on the first; the rest carry the same). */
  function expectAllDescribed(list: Ev[], pod: TestPod, name: string, id: string, attempt = 0): void {
    expect(list.length).toBeGreaterThan(0);
    expectDescribed(list[0], pod, name, id, attempt);
    const first = JSON.stringify(list[0]!.device!.container);
    const different = list.filter(
      (e) => JSON.stringify(e.device?.container) !== first || e.metadata.labels?.includes('enrichment_missing'),
    );
    expect(different.slice(0, 3)).toEqual([]);
  }

  /** The full description every enriched event of `id` (container `name` of `pod`) carries. */
  function expectDescribed(e: Ev | undefined, pod: TestPod, name: string, id: string, attempt = 0): void {
    const c = e?.device?.container;
    expect(e?.metadata.labels ?? []).not.toContain('enrichment_missing');
    expect(c).toMatchObject({
      uid: id,
      name,
      runtime: 'containerd',
      image: {
        uid: ctd.busyboxDigest.split('@')[1],
        name: 'docker.io/outrider-test/busybox',
        tags: [{ name: 'tag', value: '2' }],
      },
      hash: { algorithm_id: 3, value: ctd.busyboxDigest.split(':').at(-1) },
      orchestrator: 'Kubernetes',
      pod_uuid: pod.uid,
    });
    expect(tag(c, 'k8s.namespace.name')).toBe(pod.namespace);
    expect(tag(c, 'k8s.pod.name')).toBe(pod.name);
    expect(tag(c, 'k8s.pod.uid')).toBe(pod.uid);
    expect(tag(c, 'k8s.container.name')).toBe(name);
    expect(tag(c, 'k8s.container.restart_count')).toBe(String(attempt));
    expect(tag(c, 'k8s.node.name')).toBe(NODE);
  }

  it('joins the findings of the pods’ image to a running pod (pod, namespace, node); removing the pod closes them', async () => {
    const created = () => findings().filter((e) => e.class_uid === 2002 && e.activity_id === 1);
    expect(await waitFor(() => created().length === 2, 20_000)).toBe(true);
    const pod = await ctd.runPod('web-1', 'shop');
    const id = await ctd.startContainer(pod, { name: 'app', command: ['sleep', '300'] });
    const naming = () => findings().filter((e) => containersOf(e).some((c) => c.uid === id));
    expect(await waitFor(() => naming().filter((e) => e.class_uid === 2002).length >= 2, 20_000)).toBe(true);
    const updates = naming().filter((e) => e.class_uid === 2002);
    expect(updates.map((e) => [titleOf(e).split(' ')[0], e.activity_id]).sort()).toEqual([
      ['CVE-2019-18224', 2],
      ['CVE-2019-18276', 2],
    ]);
    for (const e of updates)
      expect(containersOf(e).find((c) => c.uid === id)).toEqual({
        type: 'container',
        uid: id,
        name: 'app',
        role_id: 3,
        hostname: NODE,
        namespace: 'shop',
        tags: [
          { name: 'container.runtime', value: 'containerd' },
          { name: 'k8s.namespace.name', value: 'shop' },
          { name: 'k8s.pod.name', value: 'web-1' },
          { name: 'k8s.pod.uid', value: pod.uid },
          { name: 'k8s.container.name', value: 'app' },
        ],
      });
    expect(await waitFor(() => naming().some((e) => e.class_uid === 2004), 10_000)).toBe(true);
    const alert = naming().find((e) => e.class_uid === 2004)!;
    expect(alert).toMatchObject({
      is_alert: true,
      device: { hostname: NODE, container: { uid: id, pod_uuid: pod.uid } },
    });
    expect(alert.message).toMatch(/^pod shop\/web-1 started from .*: 1 critical \(CVE-2019-18224\)$/);

    // Removed: the next listing no longer has it, and nothing else runs the image: both findings close.
    const before = findings().length;
    await ctd.removePod(pod);
    const closed = () =>
      findings()
        .slice(before)
        .filter((e) => e.class_uid === 2002 && e.activity_id === 3);
    expect(await waitFor(() => closed().length >= 2, 20_000)).toBe(true);
    expect(
      closed()
        .map((e) => titleOf(e).split(' ')[0])
        .sort(),
    ).toEqual(['CVE-2019-18224', 'CVE-2019-18276']);
    for (const e of closed()) {
      expect(e.status_detail).toBe('no running container uses the image any more');
      expect(containersOf(e)).toEqual([]);
    }
  });

  it('describes every line of a pod with two containers, with its allow-listed labels and annotations', async () => {
    const pod = await ctd.runPod(
      'shop-7d9f',
      'team-a',
      { app: 'shop', 'example.com/tier': 'front', secret: 'not-copied' },
      { owner: 'alice', 'kubectl.kubernetes.io/last-applied-configuration': '{"not":"copied"}' },
    );
    const web = await ctd.startContainer(pod, {
      name: 'web',
      command: ['sh', '-c', 'i=1; while [ $i -le 200 ]; do echo "web out $i"; echo "web err $i" >&2; i=$((i+1)); done'],
    });
    const sidecar = await ctd.startContainer(pod, {
      name: 'sidecar',
      command: ['sh', '-c', 'i=1; while [ $i -le 150 ]; do echo "{\\"seq\\":$i}"; i=$((i+1)); done'],
    });
    expect(await ctd.waitExited(web)).toBe(true);
    expect(await ctd.waitExited(sidecar)).toBe(true);
    expect(await waitFor(() => ofContainer(web).length >= 400 && ofContainer(sidecar).length >= 150)).toBe(true);

    const webEvents = ofContainer(web);
    expect(webEvents.filter((e) => e.metadata.log_name === 'stdout').map((e) => e.message)).toEqual(
      Array.from({ length: 200 }, (_, i) => `web out ${i + 1}`),
    );
    expect(webEvents.filter((e) => e.metadata.log_name === 'stderr').map((e) => e.message)).toEqual(
      Array.from({ length: 200 }, (_, i) => `web err ${i + 1}`),
    );
    // A JSON line without a message field: its fields, kept in unmapped.fields.
    expect(ofContainer(sidecar).map((e) => e.unmapped?.fields)).toEqual(
      Array.from({ length: 150 }, (_, i) => ({ seq: i + 1 })),
    );
    // Nothing of the pod's logs went without its container.
    expect(ofLog(pod, 'web')).toHaveLength(400);
    expect(ofLog(pod, 'sidecar')).toHaveLength(150);
    expectAllDescribed(webEvents, pod, 'web', web);
    expectAllDescribed(ofContainer(sidecar), pod, 'sidecar', sidecar);
    const c = webEvents[0]!.device!.container!;
    expect(c.labels?.sort()).toEqual(['app=shop', 'example.com/tier=front']);
    expect(tag(c, 'k8s.pod.annotation.owner')).toBe('alice');
    expect(c.tags?.some((t) => t.name.includes('last-applied'))).toBe(false);
    await ctd.removePod(pod);
  });

  it('describes every line of a container that lived milliseconds, its pod removed at once', async () => {
    const pod = await ctd.runPod('flash', 'team-a');
    const id = await ctd.startContainer(pod, {
      name: 'once',
      command: ['sh', '-c', 'echo flash 1; echo flash 2; echo flash 3 >&2'],
    });
    expect(await ctd.waitExited(id)).toBe(true);
    await ctd.removePod(pod);
    // The runtime no longer knows the container; its log stays (kubelet deletes it, later).
    await expect(ctd.call('ContainerStatus', { container_id: id })).rejects.toThrow(/not found/);
    expect(await waitFor(() => ofLog(pod, 'once').length >= 3, 10_000)).toBe(true);
    const got = ofLog(pod, 'once');
    expect(got.map((e) => e.message).sort()).toEqual(['flash 1', 'flash 2', 'flash 3']);
    expectAllDescribed(got, pod, 'once', id);
  });

  it('tells the attempts of a restarted container apart: 0.log and 1.log, each with its own container', async () => {
    const pod = await ctd.runPod('restarts', 'team-b');
    const first = await ctd.startContainer(pod, {
      name: 'app',
      command: ['sh', '-c', 'i=1; while [ $i -le 50 ]; do echo "run 0 line $i"; i=$((i+1)); done; exit 3'],
    });
    expect(await ctd.waitExited(first)).toBe(true);
    const second = await ctd.startContainer(pod, {
      name: 'app',
      attempt: 1,
      command: ['sh', '-c', 'i=1; while [ $i -le 50 ]; do echo "run 1 line $i"; i=$((i+1)); done'],
    });
    expect(await ctd.waitExited(second)).toBe(true);
    expect(await waitFor(() => ofLog(pod, 'app', 0).length >= 50 && ofLog(pod, 'app', 1).length >= 50)).toBe(true);
    const zero = ofLog(pod, 'app', 0);
    const one = ofLog(pod, 'app', 1);
    expect(zero.map((e) => e.message)).toEqual(Array.from({ length: 50 }, (_, i) => `run 0 line ${i + 1}`));
    expect(one.map((e) => e.message)).toEqual(Array.from({ length: 50 }, (_, i) => `run 1 line ${i + 1}`));
    expectAllDescribed(zero, pod, 'app', first, 0);
    expectAllDescribed(one, pod, 'app', second, 1);
    await ctd.removePod(pod);
  });

  it('follows kubelet-style rotation (rename 0.log, ReopenContainerLog) under load without losing a line', async () => {
    const n = 30_000;
    const pod = await ctd.runPod('busy', 'team-b');
    const id = await ctd.startContainer(pod, {
      name: 'writer',
      // ~1 MB/s in bursts, for a few seconds: rotated three times while it writes.
      command: [
        'sh',
        '-c',
        `sleep 0.5; i=1; while [ $i -le ${n} ]; do echo "rotating line $i"; i=$((i+1)); [ $((i % 500)) -eq 0 ] && sleep 0.05; done`,
      ],
    });
    const log = join(pod.logDir, 'writer', '0.log');
    for (let r = 1; r <= 3; r++) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      renameSync(log, `${log}.20261204-00000${r}`);
      await ctd.call('ReopenContainerLog', { container_id: id });
    }
    expect(await ctd.waitExited(id, 60_000)).toBe(true);
    const done = await waitFor(() => ofContainer(id).length >= n, 30_000);
    const got = ofContainer(id).map((e) => e.message);
    expect(done, `got ${got.length} of ${n}`).toBe(true);
    const want = Array.from({ length: n }, (_, i) => `rotating line ${i + 1}`);
    expectLines(got, want);
    expectAllDescribed(ofContainer(id), pod, 'writer', id);
    await ctd.removePod(pod);
  });

  it('reassembles a 20,000-character line the runtime split into P and F pieces', async () => {
    const pod = await ctd.runPod('long-line', 'team-b');
    const id = await ctd.startContainer(pod, {
      name: 'long',
      command: ['sh', '-c', 'echo before; head -c 20000 /dev/zero | tr "\\0" x; echo; echo after'],
    });
    expect(await ctd.waitExited(id)).toBe(true);
    expect(await waitFor(() => ofContainer(id).length >= 3)).toBe(true);
    expect(ofContainer(id).map((e) => e.message)).toEqual(['before', 'x'.repeat(20_000), 'after']);
    expectAllDescribed(ofContainer(id), pod, 'long', id);
    await ctd.removePod(pod);
  });

  it.skipIf(!withAudit)('attributes an audited process exec’d into a pod’s container to that pod', async () => {
    const pod = await ctd.runPod('audited', 'team-c', { app: 'audited' });
    const id = await ctd.startContainer(pod, { name: 'shell', command: ['sleep', '60'], runAsUser: AUDITED_UID });
    // A process that stays alive long enough for its pid to be looked up when its record is read.
    await ctd.call('ExecSync', { container_id: id, cmd: ['sleep', '4'], timeout: 20 }, 30_000);
    const mine = () => events().filter((e) => e.class_uid === 1007 && e.process?.cmd_line === 'sleep 4');
    expect(await waitFor(() => mine().length > 0, 20_000)).toBe(true);
    const event = mine()[0]!;
    expect(event.process?.container?.uid).toBe(id);
    expectDescribed(event, pod, 'shell', id);
    expect(event.process?.container?.labels).toEqual(['app=audited']);
    await ctd.removePod(pod);
  });
});
