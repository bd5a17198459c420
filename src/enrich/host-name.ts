// The host name Outrider reports as `device.hostname`. In a container the OS host name is the container's (its short
// id, or the pod's name): the name of the machine is elsewhere.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dockerode } from './docker-metadata.ts';

export interface HostName {
  name: string;
  /** Where it came from, for the start-up log line. */
  from: 'config' | 'NODE_NAME' | 'docker' | 'os';
}

/**
 * The `hostname` config key when set; else `NODE_NAME` (the Kubernetes node, given to a DaemonSet's pods through
 * the downward API); else, when the config talks to a Docker engine, the engine's own name for its host (GET /info:
 * `Name`); else the OS host name.
 */
export async function resolveHostName(
  configured: string | undefined,
  env: NodeJS.ProcessEnv,
  dockerSocket: string | undefined,
  timeoutMs = 2000,
): Promise<HostName> {
  if (configured) return { name: configured, from: 'config' };
  if (env.NODE_NAME) return { name: env.NODE_NAME, from: 'NODE_NAME' };
  if (dockerSocket && existsSync(dockerSocket)) {
    try {
      const info = (await new (dockerode())({ socketPath: dockerSocket, timeout: timeoutMs }).info()) as {
        Name?: unknown;
      };
      if (typeof info.Name === 'string' && info.Name) return { name: info.Name, from: 'docker' };
    } catch {
      // An engine that does not answer is reported by the components that use it; the OS name will do here.
    }
  }
  return { name: hostname(), from: 'os' };
}
