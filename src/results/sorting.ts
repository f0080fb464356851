// `sort_by` for results (docs/CONTRACT.md §3–4): the fixed columns of
// db/results-query.ts and `json.<path>` into the result's JSON.
import { type ResultColumn, type ResultSortKey, RESULT_SORT_COLUMNS } from '../db/results-query.js';
import { parseSortBy } from '../lists/sorting.js';
import { parseJsonPath } from './json-path.js';

const ALLOWED = [...RESULT_SORT_COLUMNS, 'json.<path>'];

function isAllowed(field: string): boolean {
  return (
    (RESULT_SORT_COLUMNS as readonly string[]).includes(field) || (field.startsWith('json.') && parseJsonPath(field.slice(5)) !== undefined)
  );
}

export function parseResultSort(sortBy: string | undefined): ResultSortKey[] {
  return parseSortBy(sortBy, '+execution_datetime', ALLOWED, isAllowed).map((key) =>
    key.field.startsWith('json.')
      ? { jsonPath: parseJsonPath(key.field.slice(5)) ?? [], direction: key.direction }
      : { column: key.field as ResultColumn, direction: key.direction },
  );
}
