// docs/ocsf-mapping.md's table of actions (between the action-table markers), read as the specification the recorded
// and live real sessions are checked against: for each action and source, how many events carry the action's class,
// activity and status within the action's time span, and that the action's events share one correlation uid.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { REPO_ROOT } from './output.ts';
import type { Mark } from './real-sessions.ts';

export interface ActionRow {
  scenario: string;
  source: 'auth log' | 'auditd' | 'docker events';
  classUid: number;
  activityId: number;
  /** activity_name when the activity is 99 Other (the action's own name). */
  activityName?: string;
  /** The `status` caption, or undefined for "—" (no status). */
  status?: string;
  /** Exact count, or undefined for "1 per call" and the like (at least one). */
  count?: number;
}

const ROW =
  /^\| `([^`]+)` \| (auth log|auditd|docker events) \| (\d+) [^/|]*\/ (\d+) ([^|]*?) \| ([^|]+?) \| ([^|]+?) \|/;

export function readActionTable(): ActionRow[] {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'ocsf-mapping.md'), 'utf8');
  const table = doc.slice(doc.indexOf('<!-- action-table:start -->'), doc.indexOf('<!-- action-table:end -->'));
  const rows: ActionRow[] = [];
  for (const line of table.split('\n')) {
    const m = ROW.exec(line);
    if (!m) continue;
    const activityId = Number(m[4]);
    rows.push({
      scenario: m[1]!,
      source: m[2] as ActionRow['source'],
      classUid: Number(m[3]),
      activityId,
      ...(activityId === 99 ? { activityName: m[5]!.trim() } : {}),
      ...(m[6] === '—' ? {} : { status: m[6]! }),
      ...(/^\d+$/.test(m[7]!) ? { count: Number(m[7]) } : {}),
    });
  }
  return rows;
}

/** Classes whose events of one action must share a correlation uid (syscall events of other processes need not). */
const STORY_CLASSES = new Set([3001, 3002, 3006]);

/**
 * What the events of `source` say about each row of that source: a list of mismatches (empty when the events agree
 * with the table). An event belongs to a scenario when its time lies within the scenario's span (scenarios are more
 * than a second apart: give sources with sub-second times).
 */
export function checkActions(
  rows: readonly ActionRow[],
  marks: readonly Mark[],
  source: ActionRow['source'],
  events: readonly OcsfEvent[],
): string[] {
  const slackMs = 50;
  const problems: string[] = [];
  for (const row of rows.filter((r) => r.source === source)) {
    const mark = marks.find((m) => m.name === row.scenario);
    if (!mark) {
      problems.push(`${row.scenario}: no such scenario in the run`);
      continue;
    }
    const inSpan = events.filter((e) => e.time >= mark.start - slackMs && e.time <= mark.end + slackMs);
    const matching = inSpan.filter(
      (e) =>
        e.class_uid === row.classUid &&
        e.activity_id === row.activityId &&
        (row.activityName === undefined || e.activity_name === row.activityName) &&
        (row.status === undefined || e.status === row.status),
    );
    const label = `${row.scenario} / ${source}: ${row.classUid}/${row.activityId}${row.activityName ? ` ${row.activityName}` : ''} ${row.status ?? ''}`;
    if (row.count !== undefined ? matching.length !== row.count : matching.length === 0)
      problems.push(
        `${label}: ${matching.length} events, expected ${row.count ?? 'at least 1'} (in the span: ${inSpan
          .map((e) => `${e.type_uid}${e.activity_id === 99 ? ` ${e.activity_name}` : ''}/${e.status ?? '-'}`)
          .join(', ')})`,
      );
    // The action's other events (the same program's, in the span): one story.
    const story = matching[0]?.metadata.correlation_uid;
    const product = matching[0]?.metadata.product.name;
    if (story && STORY_CLASSES.has(row.classUid)) {
      const others = inSpan.filter(
        (e) =>
          STORY_CLASSES.has(e.class_uid) &&
          e.metadata.product.name === product &&
          e.metadata.correlation_uid !== undefined &&
          e.metadata.correlation_uid !== story,
      );
      if (others.length > 0)
        problems.push(
          `${label}: ${others.length} events of the action with another correlation_uid than ${story}: ${others.map((e) => e.metadata.correlation_uid).join(', ')}`,
        );
    }
  }
  return problems;
}
