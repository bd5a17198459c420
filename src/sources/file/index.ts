// Tails security log files (audit.log, Kubernetes audit log, Falco alerts, auth.log, web server logs) with the shared
// TailEngine (rotation, checkpoints, at-least-once) and the format's decoder.
import type { Source, SourceContext, SourceFactory } from '../../core/component.ts';
import { PidAttribution } from '../../enrich/pid-attribution.ts';
import type { DecodeContext, LineDecoder } from '../../formats/decoder.ts';
import { findFormat } from '../../formats/index.ts';
import { tailOptions } from '../tail/config.ts';
import { TailEngine } from '../tail/engine.ts';
import { type FileSourceConfig, fileSourceSchema } from './config.ts';

/** The format's decoder options from the source config. */
export function decoderOptions(c: FileSourceConfig, ctx: SourceContext, attribution?: PidAttribution): unknown {
  switch (c.format) {
    case 'auditd':
      return {
        groupTimeout: c.auditd.group_timeout,
        maxOpenEvents: c.auditd.max_open_events,
        ...(attribution ? { attributePid: attribution.containerOf } : {}),
      };
    case 'k8s-audit':
      return {
        stages: c.k8s_audit.stages,
        holdTimeout: c.k8s_audit.hold_timeout,
        onDropped: () => ctx.metrics.eventsDropped.inc({ component: ctx.name, reason: 'k8s_request_received' }),
      };
    case 'syslog-auth':
      return { timezoneOffset: c.timezone_offset };
    case 'nginx':
      return { timezoneOffset: c.timezone_offset, server: c.server };
    case 'falco':
      return undefined;
  }
}

class FileSource implements Source {
  private engine: TailEngine | undefined;

  constructor(private readonly config: FileSourceConfig) {}

  async start(ctx: SourceContext): Promise<void> {
    const c = this.config;
    const format = findFormat(c.format);
    if (!format) throw new Error(`format ${c.format} is not registered`);
    // Attribution reads /proc at the time a record is read: right for live tailing (the process usually still runs).
    const attribution = c.format === 'auditd' && c.auditd.attribute_containers ? new PidAttribution() : undefined;
    const options = decoderOptions(c, ctx, attribution);
    const engine: TailEngine = new TailEngine(
      tailOptions(c, (path): LineDecoder => {
        const decodeCtx: DecodeContext = {
          source: ctx.name,
          hostname: ctx.hostname,
          path,
          onProblem: engine.onProblem,
        };
        return format.createDecoder(decodeCtx, options);
      }),
      ctx,
    );
    this.engine = engine;
    await engine.start();
  }

  async stop(): Promise<void> {
    await this.engine?.stop();
  }

  async commit(): Promise<void> {
    await this.engine?.commit();
  }
}

export const fileSourceFactory: SourceFactory<FileSourceConfig> = {
  kind: 'source',
  type: 'file',
  description:
    'Tails security log files (auditd, Kubernetes audit, Falco, auth.log, nginx/Apache) into OCSF, surviving rotation and restarts.',
  configSchema: fileSourceSchema,
  create: (config) => new FileSource(config),
};
