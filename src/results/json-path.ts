// Paths into a result's JSON, as filters and `sort_by=json.<path>` write
// them: `machine.cpu.count` → ['machine', 'cpu', 'count'].
import { UnprocessableError } from '../errors.js';

/** Deepest path accepted: deeper than any benchmark's results, and bounded for the database. */
export const MAX_PATH_DEPTH = 32;

/**
 * The keys of `text`; undefined when a key is empty or it is too deep.
 * (A NUL never gets here: http/storable-values.ts refuses it in every query.)
 */
export function parseJsonPath(text: string): string[] | undefined {
  const path = text.split('.');
  return path.length <= MAX_PATH_DEPTH && path.every((key) => key !== '') ? path : undefined;
}

/** A query parameter that is one path (`metric`, `columns`): its keys, or a 422 naming the parameter with an example. */
export function queryJsonPath(parameter: string, text: string): string[] {
  const path = parseJsonPath(text);
  if (path) return path;
  const reason = `dot-separated keys, none empty, at most ${MAX_PATH_DEPTH}`;
  throw new UnprocessableError(`${parameter}: "${text.slice(0, 100)}" is not a path: ${reason}; e.g. ${parameter}=result.score`, {
    [`query.${parameter}`]: reason,
  });
}
