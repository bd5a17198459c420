import type { OcsfEvent } from './event.ts';

/** Records on the event what was wrong with its input, so analysts (and dead-letter readers) can see it. */
export function flagProblem(event: OcsfEvent, problem: string): void {
  event.unmapped ??= {};
  const unmapped = event.unmapped;
  const list = (unmapped.outrider_problems as string[] | undefined) ?? [];
  list.push(problem);
  unmapped.outrider_problems = list;
}
