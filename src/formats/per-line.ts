// The decoder of formats where every line is one record (Falco alerts, syslog auth lines, web access logs): nothing
// is held back; a cut or non-UTF-8 line is still mapped, and flagged.

import type { OcsfEvent } from '../ocsf/event.ts';
import { eventUid, repairTime } from '../ocsf/mappers/common.ts';
import { flagProblem } from '../ocsf/problems.ts';
import { type DecodeContext, type DecodedEvent, type LineDecoder, LineFlags, type LineInfo } from './decoder.ts';

/** Maps one line; must not throw (mappers fall back to a flagged Base Event). */
export type LineMapper = (line: string) => OcsfEvent;

export class PerLineDecoder implements LineDecoder {
  private goodTime: number | undefined;

  constructor(
    private readonly ctx: DecodeContext,
    private readonly mapLine: LineMapper,
  ) {}

  push(line: string, info: LineInfo, out: DecodedEvent[]): void {
    if (line.length === 0 && !(info.flags & LineFlags.Unterminated)) return;
    const decoded = decodeLine(this.ctx, this.mapLine, line, info);
    repairTime(decoded.event, this.goodTime ?? Date.now(), this.ctx.onProblem);
    this.goodTime = decoded.event.time;
    out.push(decoded);
  }

  heldFrom(): number | undefined {
    return undefined;
  }

  flushExpired(): void {}

  flush(): void {}
}

export interface InputProblem {
  /** Metric label (outrider_input_kept_raw_total reason). */
  reason: 'line_too_long' | 'invalid_utf8';
  detail: string;
}

/** What a line's flags say was wrong with it. */
export function flaggedProblems(info: LineInfo): InputProblem[] {
  const problems: InputProblem[] = [];
  if (info.flags & LineFlags.Cut)
    problems.push({
      reason: 'line_too_long',
      detail: `record of ${info.originalBytes ?? '?'} bytes cut at the max_line_bytes limit`,
    });
  if (info.flags & LineFlags.InvalidUtf8)
    problems.push({ reason: 'invalid_utf8', detail: 'record is not valid UTF-8; invalid bytes replaced with U+FFFD' });
  return problems;
}

/** Maps one line and stamps what every decoded event carries (uid, log_source, input flags). */
export function decodeLine(ctx: DecodeContext, mapLine: LineMapper, line: string, info: LineInfo): DecodedEvent {
  const event = mapLine(line);
  for (const p of flaggedProblems(info)) {
    flagProblem(event, p.detail);
    ctx.onProblem(p.reason, p.detail);
  }
  if (info.flags & LineFlags.Cut) {
    event.metadata.is_truncated = true;
    if (info.originalBytes !== undefined) event.metadata.untruncated_size = info.originalBytes;
  }
  event.metadata.uid = eventUid(ctx.hostname, ctx.source, info.start, line);
  if (ctx.path) event.metadata.log_source = ctx.path;
  return { event, raw: line };
}
