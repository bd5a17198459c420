import { createServer, type Server } from 'node:http';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { splitAddress } from './address.ts';

export interface ReadinessProbe {
  readiness(): { ready: boolean; components: Record<string, unknown> };
}

/** /metrics (Prometheus text), /healthz (the process serves requests), /readyz (pipeline running, all healthy). */
export async function startAdminServer(
  address: string,
  metrics: Metrics,
  probe: ReadinessProbe,
  logger: Logger,
): Promise<Server> {
  const { host, port } = splitAddress(address);
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
        .catch((err) => res.writeHead(500).end(String(err)));
    } else if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
    } else if (url === '/readyz') {
      const r = probe.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(r)}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz, /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  logger.info('admin endpoint listening', {
    address: typeof bound === 'object' && bound ? `${bound.address}:${bound.port}` : address,
  });
  return server;
}
