// Outrider's own logs: an error keeps its code and causes (its stack at debug), OUTRIDER_LOG_LEVEL overrides the
// configured level, secrets stay masked.
import { describe, expect, it } from 'vitest';
import { createLogger, effectiveLogLevel } from '../../src/observability/logger.ts';

function capture(level: Parameters<typeof createLogger>[0]) {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger(level, {}, (l) => lines.push(JSON.parse(l))), lines };
}

describe('own logs', () => {
  it('keep an error’s code and causes, and its stack at debug only', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const err = new TypeError('fetch failed', { cause: root });
    const info = capture('info');
    info.logger.warn('sink write failed', { error: err, token: 'secret' });
    expect(info.lines[0]).toMatchObject({
      error: 'fetch failed',
      error_cause: 'connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)',
      token: '***',
    });
    expect(info.lines[0]).not.toHaveProperty('error_stack');
    const debug = capture('debug');
    debug.logger.error('cannot save checkpoints', { error: Object.assign(new Error('no space'), { code: 'ENOSPC' }) });
    expect(debug.lines[0]).toMatchObject({ error: 'no space', error_code: 'ENOSPC' });
    expect(String(debug.lines[0]!.error_stack)).toMatch(/^Error: no space\n\s+at /);
  });

  it('take their level from OUTRIDER_LOG_LEVEL when it names one', () => {
    expect(effectiveLogLevel('info', { OUTRIDER_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(effectiveLogLevel('info', { OUTRIDER_LOG_LEVEL: ' WARN ' })).toBe('warn');
    expect(effectiveLogLevel('warn', {})).toBe('warn');
    expect(effectiveLogLevel('warn', { OUTRIDER_LOG_LEVEL: 'verbose' })).toBe('warn');
  });
});
