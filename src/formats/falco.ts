// Falco alert lines (JSON output, or the text output as a fallback) → one Detection Finding per line.
import { fallbackEvent } from '../ocsf/mappers/common.ts';
import { FALCO_PRODUCT, mapFalcoAlert } from '../ocsf/mappers/falco.ts';
import { parseFalcoLine } from '../parsers/falco.ts';
import type { RecordFormat } from './decoder.ts';
import { PerLineDecoder } from './per-line.ts';

export const falcoFormat: RecordFormat = {
  name: 'falco',
  description: 'Falco alerts (json_output lines; text alerts kept with less detail)',
  createDecoder: (ctx) => {
    let lastTime: number | undefined;
    return new PerLineDecoder(ctx, (line) => {
      const alert = parseFalcoLine(line);
      if (typeof alert === 'string') {
        ctx.onProblem('malformed_record', alert);
        return fallbackEvent({
          product: FALCO_PRODUCT,
          logName: 'falco',
          raw: line,
          time: lastTime ?? Date.now(),
          hostname: ctx.hostname,
          problem: `not a Falco alert: ${alert}`,
        });
      }
      const event = mapFalcoAlert(alert, line, { hostname: ctx.hostname, onProblem: ctx.onProblem });
      lastTime = event.time;
      return event;
    });
  },
};
