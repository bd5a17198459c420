// The Kubernetes manifests (deploy/kubernetes), checked as far as they can be without a cluster: every document
// loads; each Outrider config they carry passes `check-config`; every path a config reads, the CRI socket and the
// host /proc are mounted, and everything it writes is on a writable mount; the securityContext is the least
// privilege the docs promise; NODE_NAME comes from the downward API; the probes run a command the image has.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ensureBuilt } from '../support/build.ts';
import { REPO_ROOT } from '../support/output.ts';
import { tempDir } from '../support/outrider.ts';

const DEPLOY = join(REPO_ROOT, 'deploy', 'kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML, checked field by field.
type Doc = Record<string, any>;

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : [],
  );
}

const FILES = yamlFiles(DEPLOY);
const DOCS: Array<{ file: string; doc: Doc }> = FILES.flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return { file: relative(DEPLOY, file), doc: d.toJS() as Doc };
  }),
);
const WORKLOADS = DOCS.filter(({ doc }) => doc.kind === 'DaemonSet' || doc.kind === 'Deployment');
const configMap = (name: string) => DOCS.find(({ doc }) => doc.kind === 'ConfigMap' && doc.metadata.name === name)!.doc;

/** The static directory part of a glob (what must be mounted for the glob to see anything). */
function staticBase(pattern: string): string {
  const segments = pattern.split('/');
  const first = segments.findIndex((s) => /[*?[\]{}]/.test(s));
  return first < 0 ? pattern : segments.slice(0, first).join('/') || '/';
}

function mountOf(mounts: Mount[], path: string): Mount | undefined {
  return mounts
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

/** Every path an Outrider config reads, and every path it writes. */
function pathsOf(config: Doc): { reads: string[]; writes: string[] } {
  const reads: string[] = [];
  const writes: string[] = [config.data_dir];
  for (const source of Object.values(config.sources ?? {}) as Doc[]) {
    for (const pattern of source.include ?? []) reads.push(staticBase(pattern));
    if (source.auditd?.proc_root) reads.push(source.auditd.proc_root);
    if (source.socket_path) reads.push(source.socket_path);
  }
  for (const transform of Object.values(config.transforms ?? {}) as Doc[]) {
    if (transform.type === 'cri_metadata') {
      reads.push(transform.socket ?? '/run/containerd/containerd.sock');
      reads.push(transform.log_directory ?? '/var/log/pods');
    }
    if (transform.type === 'docker_metadata') reads.push(transform.socket_path ?? '/var/run/docker.sock');
  }
  for (const sink of Object.values(config.sinks ?? {}) as Doc[]) if (sink.path) writes.push(dirname(sink.path));
  return { reads, writes };
}

describe('deploy/kubernetes manifests', () => {
  it('load: every document has its kind and name, the kustomization lists files that exist', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(5);
    for (const { file, doc } of DOCS) {
      if (doc.kind === 'Kustomization') {
        for (const r of doc.resources as string[]) expect(FILES, `${file}: ${r}`).toContain(join(DEPLOY, r));
        continue;
      }
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.metadata?.name, file).toBeTruthy();
    }
    expect(WORKLOADS.map(({ doc }) => doc.kind).sort()).toEqual(['DaemonSet', 'Deployment']);
  });

  it("each ConfigMap's Outrider config passes check-config", () => {
    const cli = ensureBuilt();
    const dir = tempDir('outrider-deploy-');
    const maps = DOCS.filter(({ doc }) => doc.kind === 'ConfigMap');
    expect(maps.length).toBe(2);
    for (const { file, doc } of maps) {
      const path = join(dir, `${doc.metadata.name}.yaml`);
      writeFileSync(path, doc.data['outrider.yaml']);
      const r = spawnSync(process.execPath, [cli, 'check-config', '--config', path], {
        encoding: 'utf8',
        env: { ...process.env, NODE_NAME: 'node-a' },
      });
      expect(r.status, `${file}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/valid/);
    }
  });

  for (const { file, doc } of WORKLOADS) {
    const pod = doc.spec.template.spec as Doc;
    const container = (pod.containers as Doc[]).find((c) => c.name === 'outrider')!;
    const mounts = container.volumeMounts as Mount[];
    const volume = (name: string) => (pod.volumes as Doc[]).find((v) => v.name === name)!;
    const configVolume = mounts.find((m) => m.mountPath === '/etc/outrider')!;
    const config = parse(configMap(volume(configVolume.name).configMap.name).data['outrider.yaml']) as Doc;
    const configFile = `${configVolume.mountPath}/outrider.yaml`;

    describe(`${doc.kind} ${doc.metadata.name} (${file})`, () => {
      it('runs the config it mounts, with NODE_NAME from the downward API', () => {
        expect(container.args).toEqual(['run', '--config', configFile]);
        expect(configVolume.readOnly).toBe(true);
        const node = (container.env as Doc[]).find((e) => e.name === 'NODE_NAME');
        expect(node?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
        expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(container.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      });

      it('mounts every path its config reads (the CRI socket, the host /proc) and writes only where it may', () => {
        const { reads, writes } = pathsOf(config);
        for (const path of reads) expect(mountOf(mounts, path), `${path} is read but not mounted`).toBeDefined();
        for (const path of writes) {
          const m = mountOf(mounts, path);
          expect(m, `${path} is written but not mounted`).toBeDefined();
          expect(m?.readOnly, `${path} is written but mounted read-only`).not.toBe(true);
        }
        // Every mount but the state directory and scratch space is read-only; hostPaths especially.
        const writable = mounts.filter((m) => !m.readOnly).map((m) => m.mountPath);
        expect(writable.sort()).toEqual([dirname(config.data_dir), '/tmp'].sort());
        for (const m of mounts) {
          const v = volume(m.name);
          if (v.hostPath && !m.readOnly)
            expect(v.hostPath.path, 'the only writable hostPath').toBe('/var/lib/outrider');
          if (v.emptyDir && !m.readOnly) expect(v.emptyDir.sizeLimit, `${m.name} is bounded`).toBeTruthy();
        }
        if (doc.kind === 'DaemonSet') {
          const socket = (Object.values(config.transforms) as Doc[]).find((t) => t.type === 'cri_metadata')!.socket;
          const socketMount = mounts.find((m) => m.mountPath === socket)!;
          expect(volume(socketMount.name).hostPath).toEqual({ path: socket, type: 'Socket' });
          expect(volume(mounts.find((m) => m.mountPath === '/host/proc')!.name).hostPath.path).toBe('/proc');
        }
      });

      it('asks for the least privilege', () => {
        const sc = container.securityContext as Doc;
        expect(sc.allowPrivilegeEscalation).toBe(false);
        expect(sc.readOnlyRootFilesystem).toBe(true);
        expect(sc.privileged ?? false).toBe(false);
        expect(sc.capabilities.drop).toEqual(['ALL']);
        for (const key of ['hostPID', 'hostNetwork', 'hostIPC']) expect(pod[key] ?? false, key).toBe(false);
        expect(pod.automountServiceAccountToken).toBe(false);
        if (doc.kind === 'DaemonSet') {
          // Root only to read root-only logs: the one capability that bypasses read permission checks.
          expect(sc.runAsUser).toBe(0);
          expect(sc.capabilities.add).toEqual(['DAC_READ_SEARCH']);
        } else {
          expect(sc.runAsNonRoot).toBe(true);
          expect(sc.runAsUser).toBeGreaterThan(0);
          expect(sc.capabilities.add ?? []).toEqual([]);
        }
      });

      it("probes run the image's own CLI against the config's loopback admin endpoint", () => {
        // The script the image runs (its ENTRYPOINT) is the one the probes run.
        const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
        const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
        const script = (JSON.parse(entrypoint!) as string[]).find((a) => a.endsWith('.js'))!;
        expect(config.admin.address).toMatch(/^127\.0\.0\.1:\d+$/);
        const cli = ensureBuilt();
        for (const [probe, live] of [
          ['readinessProbe', false],
          ['livenessProbe', true],
        ] as const) {
          const command = container[probe].exec.command as string[];
          expect(command.slice(0, 3)).toEqual(['node', script, 'healthcheck']);
          expect(command.includes('--live')).toBe(live);
          expect(command.slice(-2)).toEqual(['--config', configFile]);
          // The subcommand and its options exist.
          const help = execFileSync(process.execPath, [cli, 'healthcheck', '--help'], { encoding: 'utf8' });
          expect(help).toMatch(/--live/);
        }
      });
    });
  }
});
