// Web server logs (nginx / Apache combined, common and JSON access lines; nginx and Apache error lines) → one OCSF
// event per line: HTTP Activity for requests, Application Error for error-log lines.
import { fallbackEvent } from '../ocsf/mappers/common.ts';
import { mapWebLog } from '../ocsf/mappers/nginx.ts';
import { parseWebLogLine } from '../parsers/nginx.ts';
import type { RecordFormat } from './decoder.ts';
import { PerLineDecoder } from './per-line.ts';

export interface NginxOptions {
  /** Which server wrote the access log (metadata.product); default nginx. */
  server?: 'nginx' | 'apache';
  /** Minutes east of UTC for error-log times (they carry no zone); default 0. */
  timezoneOffset?: number;
}

export const nginxFormat: RecordFormat<NginxOptions> = {
  name: 'nginx',
  description: 'nginx / Apache access logs (combined, common, JSON) and error logs',
  createDecoder: (ctx, options = {}) => {
    let lastTime: number | undefined;
    return new PerLineDecoder(ctx, (line) => {
      const record = parseWebLogLine(line, { timezoneOffset: options.timezoneOffset ?? 0 });
      if (typeof record === 'string') {
        ctx.onProblem('malformed_record', record);
        return fallbackEvent({
          product: { name: options.server === 'apache' ? 'Apache HTTP Server' : 'nginx' },
          logName: 'access.log',
          raw: line,
          time: lastTime ?? Date.now(),
          hostname: ctx.hostname,
          problem: record,
        });
      }
      const event = mapWebLog(record, line, {
        hostname: ctx.hostname,
        fallbackTime: lastTime ?? Date.now(),
        onProblem: ctx.onProblem,
        ...(options.server ? { server: options.server } : {}),
      });
      lastTime = event.time;
      return event;
    });
  },
};
