import type { Sink } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { ndjsonBody } from '../../delivery/framing.ts';
import { authorizationHeaders, HttpTransport } from '../../delivery/http.ts';
import { errorForStatus } from '../../delivery/outcome.ts';
import type { HttpSinkConfig } from './config.ts';

/** NDJSON over HTTP: any 2xx accepts the whole batch; other statuses are classified by the shared rules. */
export class HttpSink implements Sink {
  private transport: HttpTransport | undefined;

  constructor(private readonly config: HttpSinkConfig) {}

  async start(): Promise<void> {
    this.transport = new HttpTransport({
      timeout: this.config.timeout,
      compression: this.config.compression,
      compressionLevel: this.config.compression_level,
      tls: this.config.tls,
      headers: {
        'content-type': 'application/x-ndjson',
        ...this.config.headers,
        ...authorizationHeaders(this.config.auth),
      },
    });
  }

  async write(events: Envelope[]): Promise<void> {
    const res = await this.transport!.send(
      this.config.method,
      this.config.uri,
      ndjsonBody(events, this.transport!.bodies),
    );
    const error = errorForStatus(res.status, res.headers, res.body);
    if (error) throw error;
  }

  async stop(): Promise<void> {
    await this.transport?.close();
  }
}
