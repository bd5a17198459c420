// A gRPC (HTTP/2) proxy on a Unix socket that records the method of every call passing through it, to prove which
// RPCs a client makes of a real server (a CRI runtime) without trusting the client's own code.
import { rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import { connect } from 'node:net';

function withoutPseudoHeaders(headers: http2.IncomingHttpHeaders, keep: string[] = []): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers))
    if ((!k.startsWith(':') || keep.includes(k)) && k !== 'connection' && v !== undefined) out[k] = v;
  return out;
}

export class RecordingGrpcProxy {
  /** `/runtime.v1.RuntimeService/ListContainers`… in call order. */
  readonly methods: string[] = [];
  private readonly server = http2.createServer();
  private upstream: http2.ClientHttp2Session | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(
    readonly path: string,
    private readonly target: string,
  ) {
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
    this.server.on('stream', (down, headers) => {
      const method = String(headers[':path']);
      this.methods.push(method);
      const up = this.session().request({ ':method': 'POST', ':path': method, ...withoutPseudoHeaders(headers) });
      down.pipe(up);
      let trailers: http2.IncomingHttpHeaders = {};
      up.on('response', (h) => {
        // A trailers-only answer (an error status) ends with its headers.
        if (h['grpc-status'] !== undefined) {
          down.respond(withoutPseudoHeaders(h, [':status']), { endStream: true });
          return;
        }
        down.respond(withoutPseudoHeaders(h, [':status']), { waitForTrailers: true });
        up.pipe(down);
      });
      up.on('trailers', (t) => {
        trailers = t;
      });
      down.on('wantTrailers', () => down.sendTrailers(withoutPseudoHeaders(trailers)));
      up.on('error', () => down.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      down.on('error', () => up.close(http2.constants.NGHTTP2_CANCEL));
    });
  }

  private session(): http2.ClientHttp2Session {
    if (!this.upstream || this.upstream.destroyed || this.upstream.closed) {
      this.upstream = http2.connect('http://localhost', { createConnection: () => connect(this.target) });
      this.upstream.on('error', () => undefined);
    }
    return this.upstream;
  }

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    await new Promise<void>((resolve) => this.server.listen(this.path, resolve));
  }

  async stop(): Promise<void> {
    this.upstream?.destroy();
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
