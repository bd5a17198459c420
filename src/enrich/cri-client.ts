// A read-only client of a container runtime's CRI API (runtime.v1, gRPC over its Unix socket): containerd at
// /run/containerd/containerd.sock, CRI-O at /var/run/crio/crio.sock. It can call only the five RPCs of
// cri-runtime.proto: Version, ListPodSandbox, PodSandboxStatus, ListContainers, ContainerStatus.
import { join } from 'node:path';
import type * as Grpc from '@grpc/grpc-js';
import { lazyModule } from '../core/lazy-module.ts';

/** gRPC and the .proto loader, loaded by the first component that talks to a CRI runtime. */
const grpc = lazyModule<typeof import('@grpc/grpc-js')>('@grpc/grpc-js');
const protoLoader = lazyModule<typeof import('@grpc/proto-loader')>('@grpc/proto-loader');

export const CRI_PROTO = join(import.meta.dirname, 'cri-runtime.proto');
/** The API version this client speaks (VersionResponse.runtime_api_version). */
export const CRI_API_VERSION = 'v1';

export interface CriVersion {
  runtime_name: string;
  runtime_version: string;
  runtime_api_version: string;
}

export interface CriPodSandbox {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt: number } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface CriContainer {
  id: string;
  /** Only in ListContainers answers. */
  pod_sandbox_id?: string;
  metadata: { name: string; attempt: number } | null;
  image: { image: string; user_specified_image: string } | null;
  image_ref: string;
  /** CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED or CONTAINER_UNKNOWN. */
  state?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Only in ContainerStatus answers. */
  log_path?: string;
}

type Unary<Req, Res> = (
  request: Req,
  options: Grpc.CallOptions,
  callback: (err: Grpc.ServiceError | null, response?: Res) => void,
) => void;

interface RuntimeServiceClient extends Grpc.Client {
  Version: Unary<object, CriVersion>;
  ListPodSandbox: Unary<object, { items: CriPodSandbox[] }>;
  PodSandboxStatus: Unary<{ pod_sandbox_id: string }, { status: CriPodSandbox | null }>;
  ListContainers: Unary<object, { containers: CriContainer[] }>;
  ContainerStatus: Unary<{ container_id: string }, { status: CriContainer | null }>;
}

type RuntimeServiceConstructor = new (
  address: string,
  credentials: Grpc.ChannelCredentials,
  options?: Grpc.ChannelOptions,
) => RuntimeServiceClient;

let serviceConstructor: RuntimeServiceConstructor | undefined;

/** The RuntimeService client class of cri-runtime.proto (loaded once). */
export function criRuntimeService(): RuntimeServiceConstructor & { service: Grpc.ServiceDefinition } {
  if (!serviceConstructor) {
    const definition = protoLoader().loadSync(CRI_PROTO, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    const pkg = grpc().loadPackageDefinition(definition) as unknown as {
      runtime: { v1: { RuntimeService: RuntimeServiceConstructor } };
    };
    serviceConstructor = pkg.runtime.v1.RuntimeService;
  }
  return serviceConstructor as RuntimeServiceConstructor & { service: Grpc.ServiceDefinition };
}

/** `unix:///run/containerd/containerd.sock` from a socket path (or an address given as one already). */
export function criAddress(socket: string): string {
  return socket.startsWith('unix:') ? socket : `unix://${socket}`;
}

/** gRPC status code NOT_FOUND: the runtime does not know that container or sandbox. */
const NOT_FOUND = 5;

export class CriClient {
  private readonly client: RuntimeServiceClient;

  constructor(
    socket: string,
    private readonly timeoutMs: number,
  ) {
    const Service = criRuntimeService();
    this.client = new Service(criAddress(socket), grpc().credentials.createInsecure(), {
      // A node's full container list can be large (kubelet allows 16 MiB).
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      // The owner reconnects (a new client) with its own backoff.
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  version(): Promise<CriVersion> {
    return this.call(this.client.Version, {});
  }

  async listPodSandbox(): Promise<CriPodSandbox[]> {
    return (await this.call(this.client.ListPodSandbox, {})).items;
  }

  /** The sandbox, or undefined when the runtime does not know it (any more). */
  async podSandboxStatus(id: string): Promise<CriPodSandbox | undefined> {
    return (
      (await this.orNotFound(this.call(this.client.PodSandboxStatus, { pod_sandbox_id: id })))?.status ?? undefined
    );
  }

  async listContainers(): Promise<CriContainer[]> {
    return (await this.call(this.client.ListContainers, {})).containers;
  }

  /** The container, or undefined when the runtime does not know it (any more). */
  async containerStatus(id: string): Promise<CriContainer | undefined> {
    return (await this.orNotFound(this.call(this.client.ContainerStatus, { container_id: id })))?.status ?? undefined;
  }

  close(): void {
    this.client.close();
  }

  private call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(this.client, request, { deadline: Date.now() + this.timeoutMs }, (err, response) => {
        if (err) reject(err);
        else resolve(response!);
      });
    });
  }

  private async orNotFound<T>(answer: Promise<T>): Promise<T | undefined> {
    try {
      return await answer;
    } catch (err) {
      if ((err as Grpc.ServiceError).code === NOT_FOUND) return undefined;
      throw err;
    }
  }
}

/** The text of a failed call, e.g. `UNAVAILABLE: No connection established. Last error: connect ENOENT …`. */
export function criErrorText(err: unknown): string {
  const e = err as Partial<Grpc.ServiceError>;
  if (typeof e?.code === 'number' && e.details !== undefined) {
    const name = Object.entries(grpc().status).find(([, v]) => v === e.code)?.[0] ?? String(e.code);
    return `${name}: ${e.details}`;
  }
  return (err as Error)?.message ?? String(err);
}
