import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ComponentContext, Sink, SinkWriteResult } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { tlsConnectionOptions } from '../../delivery/tls.ts';
import { SYSLOG_FACILITIES, type SyslogSinkConfig } from './config.ts';
import { type SyslogEncoding, syslogMessage } from './encoder.ts';

/**
 * RFC 5424 messages over TLS / TCP with octet-counting framing (RFC 6587 §3.4.1) on one connection kept open, or
 * over UDP. A batch counts as written once the kernel took every byte: syslog has no application acknowledgement,
 * so a receiver that dies with data in its socket buffer loses it (use a relay with RELP, or another sink, where
 * that matters). Any socket error drops the connection; the batch is sent again on a new one.
 */
export class SyslogSink implements Sink {
  private socket: Socket | undefined;
  private udp: UdpSocket | undefined;
  private encoding!: SyslogEncoding;
  private tls: ReturnType<typeof tlsConnectionOptions> | undefined;

  constructor(private readonly config: SyslogSinkConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    this.encoding = {
      facility: SYSLOG_FACILITIES[this.config.facility],
      appName: this.config.app_name,
      hostname: ctx.hostname,
      format: this.config.format,
    };
    if (this.config.mode === 'tls') this.tls = tlsConnectionOptions(this.config.tls);
  }

  async write(events: Envelope[]): Promise<SinkWriteResult | undefined> {
    const rejected: Array<{ index: number; reason: string }> = [];
    const frames: Buffer[] = [];
    events.forEach((e, index) => {
      const message = Buffer.from(syslogMessage(e, this.encoding));
      if (message.length > this.config.max_message_bytes) {
        rejected.push({ index, reason: `message_too_large: ${message.length} bytes > max_message_bytes` });
      } else frames.push(message);
    });
    if (this.config.mode === 'udp') await this.sendDatagrams(frames);
    else await this.sendStream(frames);
    return rejected.length > 0 ? { rejected } : undefined;
  }

  private async sendStream(messages: Buffer[]): Promise<void> {
    const socket = this.socket ?? (await this.connect());
    const parts: Buffer[] = [];
    for (const m of messages) parts.push(Buffer.from(`${m.length} `), m);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      // A receiver that stops reading (full TCP window) would leave the write pending forever.
      const timer = setTimeout(
        () => socket.destroy(new Error(`write not taken within ${this.config.timeout} ms`)),
        this.config.timeout,
      );
      socket.once('error', onError);
      socket.write(Buffer.concat(parts), (err) => {
        clearTimeout(timer);
        socket.off('error', onError);
        if (err) reject(err);
        else resolve();
      });
    }).catch((err: unknown) => {
      this.dropConnection();
      throw err;
    });
  }

  private connect(): Promise<Socket> {
    const { host, port, timeout } = this.config;
    return new Promise<Socket>((resolve, reject) => {
      const socket = this.tls
        ? tlsConnect({ host, port, ...this.tls, servername: this.tls.servername ?? (isIP(host) ? undefined : host) })
        : netConnect({ host, port });
      const ready = this.tls ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${timeout} ms`)), timeout);
      socket.once(ready, () => {
        clearTimeout(timer);
        socket.off('error', reject);
        socket.setKeepAlive(true, 30_000);
        // A peer that closes or fails later is noticed here; the next write opens a new connection.
        socket.on('error', () => this.dropConnection(socket));
        socket.on('close', () => this.dropConnection(socket));
        // Receivers never talk back in octet-counting syslog; drain anything they send so it cannot pile up.
        socket.resume();
        this.socket = socket;
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private dropConnection(which?: Socket): void {
    if (which && which !== this.socket) return;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private async sendDatagrams(messages: Buffer[]): Promise<void> {
    this.udp ??= createSocket(this.config.host.includes(':') ? 'udp6' : 'udp4');
    const udp = this.udp;
    for (const m of messages) {
      await new Promise<void>((resolve, reject) =>
        udp.send(m, this.config.port, this.config.host, (err) => (err ? reject(err) : resolve())),
      );
    }
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.end(resolve));
    this.udp?.close();
  }
}
