// The image run exactly as deploy/kubernetes/daemonset.yaml runs it — its user, capabilities, read-only root, no
// privilege escalation, resource limits, mounts, environment and arguments, translated from the manifest to
// `docker run` — against pods of the test's own containerd (made as kubelet makes them). Only the host side of the
// hostPaths differs: the node's /var/log is a test directory holding the test containerd's pod logs (and the live
// audit log, bind-mounted), the CRI socket is the test containerd's. Checked: the probes' commands succeed inside the
// container, every pod line arrives enriched with its pod, image and node, a pod removed at once included, and an
// audited process exec'd into a pod is attributed to it through the host's /proc.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { addAuditRule, auditRule, deleteAuditRule } from '../support/audit.ts';
import { TestContainerd, type TestPod } from '../support/containerd.ts';
import { docker } from '../support/docker.ts';
import { REPO_ROOT, recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const exec = promisify(execFile);
const ok = await requireComponents('root', 'docker', 'containerd', 'auditd');
const TAG = `outrider:cri-ds-${process.pid}`;
const NAME = `outrider-cri-ds-${process.pid}`;
const NODE = `node-${process.pid}`;
const KEY = `outrider-cri-ds-${process.pid}`;
const AUDITED_UID = 4244;
const RULE = auditRule(KEY, String(AUDITED_UID), ['execve']);

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML.
type Doc = Record<string, any>;

interface Ev {
  class_uid: number;
  message?: string;
  metadata: { labels?: string[]; log_source?: string };
  device?: {
    hostname?: string;
    container?: {
      uid?: string;
      name?: string;
      image?: { name?: string };
      tags?: Array<{ name: string; value: string }>;
    };
  };
  process?: { cmd_line?: string; container?: { uid?: string } };
}

const manifests = (file: string): Doc[] =>
  parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy', 'kubernetes', file), 'utf8')).map((d) => d.toJS() as Doc);

/** `docker run` arguments for the DaemonSet's container, its hostPaths mapped through `hostPaths`. */
function dockerRunArgs(hostPaths: Record<string, string>, configDir: string): { args: string[]; probes: string[][] } {
  const ds = manifests('daemonset.yaml').find((d) => d.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec as Doc;
  const c = (pod.containers as Doc[]).find((x) => x.name === 'outrider')!;
  const sc = { ...pod.securityContext, ...c.securityContext } as Doc;
  const args = ['--user', `${sc.runAsUser}:${sc.runAsGroup}`];
  for (const cap of sc.capabilities.drop) args.push('--cap-drop', cap);
  for (const cap of sc.capabilities.add ?? []) args.push('--cap-add', cap);
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  if (sc.readOnlyRootFilesystem) args.push('--read-only');
  expect(sc.privileged ?? false).toBe(false);
  expect(pod.hostPID ?? false).toBe(false);
  expect(pod.hostNetwork ?? false).toBe(false);
  args.push('--cpus', String(c.resources.limits.cpu), '--memory', String(c.resources.limits.memory).replace('Mi', 'm'));
  for (const e of c.env as Doc[]) {
    expect(e.valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    args.push('-e', `${e.name}=${NODE}`);
  }
  for (const m of c.volumeMounts as Doc[]) {
    const v = (pod.volumes as Doc[]).find((x) => x.name === m.name)!;
    const ro = m.readOnly ? ':ro' : '';
    if (v.hostPath) {
      const host = hostPaths[v.hostPath.path];
      if (!host) throw new Error(`no test mapping for hostPath ${v.hostPath.path}`);
      args.push('-v', `${host}:${m.mountPath}${ro}`);
    } else if (v.configMap) {
      args.push('-v', `${configDir}:${m.mountPath}${ro}`);
    } else if (v.emptyDir) {
      args.push('--tmpfs', `${m.mountPath}:size=${String(v.emptyDir.sizeLimit).replace('Mi', 'm')}`);
    } else throw new Error(`volume ${m.name}: no translation`);
  }
  const probes = [c.readinessProbe.exec.command as string[], c.livenessProbe.exec.command as string[]];
  return { args: [...args, TAG, ...(c.args as string[])], probes };
}

describe.skipIf(!ok)('the image run as the DaemonSet runs it, on pods of a real containerd', () => {
  let ctd: TestContainerd;
  let dir: string;
  let events: string;
  let probes: string[][] = [];
  const all = () => readNdjson<Ev>(events);
  const ofLog = (pod: TestPod, name: string) =>
    all().filter(
      (e) => e.metadata.log_source === `/var/log/pods/${pod.namespace}_${pod.name}_${pod.uid}/${name}/0.log`,
    );
  const tag = (e: Ev | undefined, name: string) => e?.device?.container?.tags?.find((t) => t.name === name)?.value;

  beforeAll(async () => {
    dir = tempDir('outrider-cri-ds-');
    const varlog = join(dir, 'varlog');
    mkdirSync(join(varlog, 'audit'), { recursive: true });
    // The live audit log where the DaemonSet expects the node's (read-only, as everything but the state dir).
    await exec('mount', ['--bind', '-o', 'ro', '/var/log/audit', join(varlog, 'audit')]);
    ctd = await TestContainerd.start({ podLogs: join(varlog, 'pods') });
    await ctd.importImages();
    // The image as `bash scripts/dev.sh image` builds it (cached layers: seconds when nothing changed).
    await exec('bash', [join(REPO_ROOT, 'scripts', 'dev.sh'), 'image', TAG], {
      cwd: REPO_ROOT,
      timeout: 30 * 60_000,
      maxBuffer: 256 << 20,
    });
    const configDir = join(dir, 'config');
    mkdirSync(configDir);
    const cm = manifests('configmap.yaml').find((d) => d.kind === 'ConfigMap')!;
    for (const [file, text] of Object.entries(cm.data as Record<string, string>))
      writeFileSync(join(configDir, file), text);
    const state = join(dir, 'state');
    mkdirSync(state);
    events = join(state, 'events', 'events.ndjson');
    const run = dockerRunArgs(
      {
        '/var/log': varlog,
        '/run/containerd/containerd.sock': ctd.socket,
        '/proc': '/proc',
        '/var/lib/outrider': state,
      },
      configDir,
    );
    probes = run.probes;
    // A node never has no pod (kube-proxy, the DaemonSet's own): one already logging before Outrider starts.
    // Without any, the pods source rightly says it reads nothing and is not ready (issue 14.4).
    const resident = await ctd.runPod('resident', 'kube-system');
    await ctd.startContainer(resident, { name: 'proxy', command: ['sh', '-c', 'echo resident up; sleep 3600'] });
    await addAuditRule(RULE);
    await docker('run', '-d', '--name', NAME, ...run.args);
    // Ready: the readiness probe's command says so (it asks /readyz: the CRI runtime answered).
    const ready = await waitFor(
      async () => {
        try {
          await docker('exec', NAME, ...probes[0]!);
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      500,
    );
    if (!ready) throw new Error(`not ready: ${(await exec('docker', ['logs', NAME])).stderr.slice(-3000)}`);
  }, 45 * 60_000);

  afterAll(async () => {
    await deleteAuditRule(RULE);
    await docker('rm', '-f', NAME).catch(() => undefined);
    await docker('rmi', TAG).catch(() => undefined);
    await ctd?.stop();
    await exec('umount', [join(dir, 'varlog', 'audit')]).catch(() => undefined);
    const v = validateOcsf(recordOutput('e2e/daemonset-image', all()));
    rmSync(dir, { recursive: true, force: true });
    if (v) expect(v.failed, v.output).toBe(0);
  }, 120_000);

  it("runs with the DaemonSet's rights, and its probes' commands succeed inside the container", async () => {
    const inspect = JSON.parse(await docker('inspect', NAME))[0] as Doc;
    expect(inspect.Config.User).toBe('0:0');
    expect(inspect.HostConfig.CapDrop).toEqual(['ALL']);
    expect((inspect.HostConfig.CapAdd as string[]).map((c) => c.replace(/^CAP_/, ''))).toEqual(['DAC_READ_SEARCH']);
    expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
    expect(inspect.HostConfig.SecurityOpt).toContain('no-new-privileges');
    for (const probe of probes) await docker('exec', NAME, ...probe);
  });

  it('ships every line of a pod and of a pod removed at once, enriched with pod, image and node', async () => {
    const pod = await ctd.runPod('web-5f7c', 'shop', { app: 'web' });
    const id = await ctd.startContainer(pod, {
      name: 'web',
      command: ['sh', '-c', 'i=1; while [ $i -le 100 ]; do echo "web line $i"; i=$((i+1)); done'],
    });
    const flash = await ctd.runPod('flash', 'shop');
    const flashId = await ctd.startContainer(flash, {
      name: 'once',
      command: ['sh', '-c', 'echo flash 1; echo flash 2'],
    });
    expect(await ctd.waitExited(flashId)).toBe(true);
    await ctd.removePod(flash);
    expect(await ctd.waitExited(id)).toBe(true);
    const arrived = await waitFor(() => ofLog(pod, 'web').length >= 100 && ofLog(flash, 'once').length >= 2, 30_000);
    expect(arrived, `${ofLog(pod, 'web').length} and ${ofLog(flash, 'once').length} lines`).toBe(true);
    expect(ofLog(pod, 'web').map((e) => e.message)).toEqual(Array.from({ length: 100 }, (_, i) => `web line ${i + 1}`));
    expect(ofLog(flash, 'once').map((e) => e.message)).toEqual(['flash 1', 'flash 2']);
    for (const [events, p, cid, name] of [
      [ofLog(pod, 'web'), pod, id, 'web'],
      [ofLog(flash, 'once'), flash, flashId, 'once'],
    ] as const) {
      for (const e of events) {
        expect(e.metadata.labels ?? []).not.toContain('enrichment_missing');
        expect(e.device?.hostname).toBe(NODE);
        expect(e.device?.container).toMatchObject({
          uid: cid,
          name,
          image: { name: 'docker.io/outrider-test/busybox' },
        });
        expect(tag(e, 'k8s.pod.name')).toBe(p.name);
        expect(tag(e, 'k8s.namespace.name')).toBe('shop');
        expect(tag(e, 'k8s.node.name')).toBe(NODE);
      }
    }
    await ctd.removePod(pod);
  });

  it('attributes an audited process exec’d into a pod to it, through the host /proc mounted read-only', async () => {
    const pod = await ctd.runPod('audited', 'shop');
    const id = await ctd.startContainer(pod, { name: 'shell', command: ['sleep', '60'], runAsUser: AUDITED_UID });
    await ctd.call('ExecSync', { container_id: id, cmd: ['sleep', '5'], timeout: 20 }, 30_000);
    const mine = () => all().filter((e) => e.class_uid === 1007 && e.process?.cmd_line === 'sleep 5');
    expect(await waitFor(() => mine().length > 0, 30_000)).toBe(true);
    const e = mine()[0]!;
    expect(e.process?.container?.uid).toBe(id);
    expect(tag(e, 'k8s.pod.name')).toBe('audited');
    expect(tag(e, 'k8s.node.name')).toBe(NODE);
    await ctd.removePod(pod);
  });
});
