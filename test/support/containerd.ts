// A containerd of the test's own (Debian's containerd, CRI plugin enabled) with its own config, root, state and
// socket under a temp dir — never the containerd dockerd uses — and pods made the way kubelet makes them, through
// the CRI API: RunPodSandbox with a log_directory under the test dir, CreateContainer with log_path
// `<container>/<attempt>.log`, cgroup parent /kubepods/besteffort/pod<uid>, host network (no CNI needed).
// The test images (busybox-static rootfs, and a "pause" sandbox image made from it) are built with `docker import`,
// then `docker save | ctr images import`. stop() leaves nothing behind: pods removed, containerd and its shims
// stopped by pid, mounts under its dirs unmounted, the pods' cgroups and the dirs removed.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { docker, ensureTestImage } from './docker.ts';
import { SHARED } from './output.ts';

const run = promisify(execFile);
export const CONTAINERD = '/usr/bin/containerd';
/** The upstream CRI definition (../shared/cri): the test plays kubelet, so it needs the writing RPCs too. */
const UPSTREAM_CRI_PROTO = join(SHARED, 'cri', 'api.proto');
const PAUSE_IMAGE = 'outrider-test/pause:1';
/** The busybox test image as the runtime knows it, and a digest reference to it (as a registry pull makes one). */
export const BUSYBOX = `docker.io/${'outrider-test/busybox:2'}`;

type Callback = (err: grpc.ServiceError | null, response?: Record<string, unknown>) => void;
type Method = (request: object, options: grpc.CallOptions, callback: Callback) => void;

export interface TestPod {
  id: string;
  uid: string;
  name: string;
  namespace: string;
  /** <logs root>/<namespace>_<name>_<uid>, the sandbox's log_directory. */
  logDir: string;
  config: Record<string, unknown>;
}

export interface ContainerSpec {
  name: string;
  attempt?: number;
  command: string[];
  /** Every process of the container runs as this uid. */
  runAsUser?: number;
  labels?: Record<string, string>;
}

export class TestContainerd {
  readonly socket: string;
  /** Where pods' log directories go (the node's /var/log/pods). */
  readonly podLogs: string;
  /** The image's repo digest reference (after importImages). */
  busyboxDigest = '';
  private process: ChildProcess;
  private readonly client: grpc.Client & Record<string, Method>;
  private readonly podUids = new Set<string>();

  private constructor(
    readonly dir: string,
    proc: ChildProcess,
    podLogs: string,
  ) {
    this.process = proc;
    this.socket = join(dir, 'containerd.sock');
    this.podLogs = podLogs;
    mkdirSync(this.podLogs, { recursive: true });
    const definition = protoLoader.loadSync(UPSTREAM_CRI_PROTO, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      runtime: { v1: { RuntimeService: new (a: string, c: grpc.ChannelCredentials) => grpc.Client } };
    };
    this.client = new pkg.runtime.v1.RuntimeService(
      `unix://${this.socket}`,
      grpc.credentials.createInsecure(),
    ) as grpc.Client & Record<string, Method>;
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Starts containerd with its config under a new temp dir and waits until its CRI API answers. Pods' logs go under
   * `podLogs` (default: `pods` in that dir; the caller removes another). */
  static async start(options: { podLogs?: string } = {}): Promise<TestContainerd> {
    const dir = mkdtempSync(join(tmpdir(), 'outrider-containerd-'));
    for (const d of ['root', 'state', 'opt', 'cni/bin', 'cni/conf']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'config.toml'), containerdConfig(dir));
    const c = new TestContainerd(dir, spawnContainerd(dir), options.podLogs ?? join(dir, 'pods'));
    try {
      await c.answering();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  private async answering(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await this.call('Version', {}, 5000);
        return;
      } catch (err) {
        if (Date.now() > deadline || this.process.exitCode !== null)
          throw new Error(`containerd did not start: ${(err as Error).message}\n${this.log().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Stops the daemon only (its pods' shims keep running, as on a node whose containerd restarts). */
  async stopDaemon(): Promise<void> {
    await stopPid(this.process.pid);
  }

  /** Starts the daemon again on the same root, state and socket. */
  async startDaemon(): Promise<void> {
    this.process = spawnContainerd(this.dir);
    await this.answering();
  }

  log(): string {
    return existsSync(join(this.dir, 'containerd.log')) ? readFileSync(join(this.dir, 'containerd.log'), 'utf8') : '';
  }

  /** Imports the busybox and pause images into the k8s.io namespace, and a digest reference to busybox. */
  async importImages(): Promise<void> {
    const busybox = await ensureTestImage();
    await ensurePauseImage();
    await run('sh', ['-c', `docker save ${busybox} ${PAUSE_IMAGE} | ${this.ctr()} images import -`], {
      timeout: 120_000,
    });
    const { stdout } = await run('sh', ['-c', `${this.ctr()} images ls`], { timeout: 30_000 });
    const line = stdout.split('\n').find((l) => l.startsWith(`${BUSYBOX} `));
    const manifest = /sha256:[0-9a-f]{64}/.exec(line ?? '')?.[0];
    if (!manifest) throw new Error(`imported image not listed:\n${stdout}`);
    this.busyboxDigest = `docker.io/outrider-test/busybox@${manifest}`;
    await run('sh', ['-c', `${this.ctr()} images tag ${BUSYBOX} ${this.busyboxDigest}`], { timeout: 30_000 });
  }

  private ctr(): string {
    return `ctr -n k8s.io --address ${this.socket}`;
  }

  call(method: string, request: object, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const m = this.client[method];
      if (!m) return reject(new Error(`no CRI method ${method}`));
      m.call(this.client, request, { deadline: Date.now() + timeoutMs }, (err, response) =>
        err ? reject(err) : resolve(response ?? {}),
      );
    });
  }

  /** RunPodSandbox as kubelet calls it: log_directory <logs>/<ns>_<name>_<uid>, sandbox and pod labels. */
  async runPod(
    name: string,
    namespace: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {},
  ): Promise<TestPod> {
    const uid = randomUUID();
    this.podUids.add(uid);
    const logDir = join(this.podLogs, `${namespace}_${name}_${uid}`);
    mkdirSync(logDir, { recursive: true });
    const config = {
      metadata: { name, uid, namespace, attempt: 0 },
      log_directory: logDir,
      labels: {
        ...labels,
        'io.kubernetes.pod.name': name,
        'io.kubernetes.pod.namespace': namespace,
        'io.kubernetes.pod.uid': uid,
      },
      annotations: { 'kubernetes.io/config.source': 'api', ...annotations },
      linux: {
        cgroup_parent: `/kubepods/besteffort/pod${uid}`,
        // Host network: no CNI needed (and no hostname, as kubelet leaves it for such pods).
        security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } },
      },
    };
    const { pod_sandbox_id } = await this.call('RunPodSandbox', { config });
    return { id: pod_sandbox_id as string, uid, name, namespace, logDir, config };
  }

  /** CreateContainer (log_path <name>/<attempt>.log, kubelet's labels) and StartContainer. */
  async startContainer(pod: TestPod, spec: ContainerSpec): Promise<string> {
    const attempt = spec.attempt ?? 0;
    mkdirSync(join(pod.logDir, spec.name), { recursive: true });
    const { container_id } = await this.call('CreateContainer', {
      pod_sandbox_id: pod.id,
      sandbox_config: pod.config,
      config: {
        metadata: { name: spec.name, attempt },
        image: { image: BUSYBOX },
        command: spec.command,
        log_path: `${spec.name}/${attempt}.log`,
        labels: {
          ...spec.labels,
          'io.kubernetes.container.name': spec.name,
          'io.kubernetes.pod.name': pod.name,
          'io.kubernetes.pod.namespace': pod.namespace,
          'io.kubernetes.pod.uid': pod.uid,
        },
        annotations: { 'io.kubernetes.container.restartCount': String(attempt) },
        linux: spec.runAsUser !== undefined ? { security_context: { run_as_user: { value: spec.runAsUser } } } : {},
      },
    });
    await this.call('StartContainer', { container_id });
    return container_id as string;
  }

  /** Waits until the container exited (or the timeout passed). */
  async waitExited(id: string, timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { status } = (await this.call('ContainerStatus', { container_id: id })) as { status: { state: string } };
      if (status.state === 'CONTAINER_EXITED') return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** StopPodSandbox and RemovePodSandbox as kubelet does them: a stop that fails UNKNOWN is tried again. containerd
   * answers "failed to kill container …: ttrpc: closed" when a container's shim exits while the kill is sent
   * (short-lived containers); kubelet retries on its next sync, and so does this, a bounded number of times. */
  async removePod(pod: TestPod): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call('StopPodSandbox', { pod_sandbox_id: pod.id });
        break;
      } catch (err) {
        if ((err as grpc.ServiceError).code !== grpc.status.UNKNOWN || attempt === 5) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    await this.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
  }

  /** Stops every pod, stops containerd and its shims by pid, unmounts what is left under its dirs, removes the pods'
   * cgroups and the dirs. Never throws. */
  async stop(): Promise<void> {
    try {
      const { items } = (await this.call('ListPodSandbox', {}, 10_000)) as { items: Array<{ id: string }> };
      for (const p of items) {
        await this.call('StopPodSandbox', { pod_sandbox_id: p.id }, 30_000).catch(() => undefined);
        await this.call('RemovePodSandbox', { pod_sandbox_id: p.id }, 30_000).catch(() => undefined);
      }
    } catch {
      // containerd is gone already: what it left is cleaned below.
    }
    this.client.close();
    await stopPid(this.process.pid);
    // Shims of this containerd (run with `-address <our socket>`) that outlived it.
    for (const pid of processesMentioning(this.socket)) await stopPid(pid);
    for (const mount of mountsUnder(this.dir)) await run('umount', ['-l', mount]).catch(() => undefined);
    for (const uid of this.podUids) removePodCgroups(uid);
    // runc's state root for the k8s.io namespace (empty once its containers are deleted; dockerd's is moby/).
    try {
      rmdirSync('/run/containerd/runc/k8s.io');
    } catch {
      // not empty (another containerd's pods) or not there
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function spawnContainerd(dir: string): ChildProcess {
  const log = openSync(join(dir, 'containerd.log'), 'a');
  const proc = spawn(CONTAINERD, ['--config', join(dir, 'config.toml')], { stdio: ['ignore', log, log] });
  closeSync(log);
  return proc;
}

function containerdConfig(dir: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # A sandboxed machine may forbid lowering oom_score_adj (-998 for sandboxes): stay at containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${dir}/cni/bin"
    conf_dir = "${dir}/cni/conf"
`;
}

/** A sandbox image: the busybox-static rootfs sleeping forever (kubelet's pause does the same, in less). */
async function ensurePauseImage(): Promise<void> {
  try {
    await docker('image', 'inspect', PAUSE_IMAGE);
    return;
  } catch {
    // built below
  }
  const root = mkdtempSync(join(tmpdir(), 'outrider-pause-'));
  try {
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'bin', 'busybox'), readFileSync('/bin/busybox'), { mode: 0o755 });
    await run(
      'sh',
      ['-c', `tar -C '${root}' -c . | docker import -c 'CMD ["/bin/busybox","sleep","2147483647"]' - ${PAUSE_IMAGE}`],
      { timeout: 120_000 },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function stopPid(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** Pids whose command line contains `text` (e.g. a shim's `-address <socket>`). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids.filter((p) => p !== process.pid);
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** runc creates the pod's cgroup (our cgroup_parent, and its kubepods parents when no kubelet made them) in every
 * hierarchy and leaves them: remove them when empty (another test's pods may still be in the parents). */
function removePodCgroups(uid: string): void {
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const kubepods = join('/sys/fs/cgroup', hierarchy, 'kubepods');
    for (const dir of [join(kubepods, 'besteffort', `pod${uid}`), join(kubepods, 'besteffort'), kubepods]) {
      try {
        rmdirSync(dir);
      } catch {
        // not there, or not empty: nothing of ours to remove
      }
    }
  }
}
