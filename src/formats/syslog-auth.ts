// Auth log lines (RFC 3164 / RFC 5424 syslog, journald JSON, bare sshd stderr) → one OCSF event per line.
import { mapAuthLog } from '../ocsf/mappers/syslog-auth.ts';
import { parseSyslogLine } from '../parsers/syslog.ts';
import type { RecordFormat } from './decoder.ts';
import { PerLineDecoder } from './per-line.ts';

export interface SyslogAuthOptions {
  /** Minutes east of UTC in which RFC 3164 times (no zone) are read; default 0 (UTC). */
  timezoneOffset?: number;
  /** The instant RFC 3164 times (no year) are placed before; default: now. Tests pin it. */
  now?: number;
}

export const syslogAuthFormat: RecordFormat<SyslogAuthOptions> = {
  name: 'syslog-auth',
  description: 'auth.log / secure (sshd, PAM, sudo, su, useradd…): RFC 3164, RFC 5424, journald JSON',
  createDecoder: (ctx, options = {}) => {
    let lastTime: number | undefined;
    return new PerLineDecoder(ctx, (line) => {
      const now = options.now ?? Date.now();
      const record = parseSyslogLine(line, { now, timezoneOffset: options.timezoneOffset ?? 0 });
      const event = mapAuthLog(record, line, {
        hostname: ctx.hostname,
        fallbackTime: lastTime ?? now,
        onProblem: ctx.onProblem,
      });
      lastTime = event.time;
      return event;
    });
  },
};
