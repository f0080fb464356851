// Which results a list asks for, from its query parameters: ids, tags, date
// ranges and `filters=<path> <op> <value>` (docs/CONTRACT.md §4), parsed
// into the typed criteria db/results-query.ts turns into SQL. Everything is
// checked here first: a bad filter or date is a 422 before any SQL runs.
import type { QueryOf } from '../api-types.js';
import type { JsonFilter, JsonOperator, ResultCriteria } from '../db/results-query.js';
import { UnprocessableError } from '../errors.js';
import { dateRange } from '../lists/dates.js';
import { MAX_PATH_DEPTH, parseJsonPath } from './json-path.js';

const OPERATORS: readonly JsonOperator[] = ['==', '>', '<', '>=', '<='];
const NUMBER = /^-?(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?$/;
/** PostgreSQL's numeric refuses an exponent beyond ±1000 (an error, so a 500, if it got there). */
const MAX_EXPONENT = 1000;
const BOOLEAN = /^(true|false)$/i;
const EXAMPLE = 'e.g. filters=machine.cpu.count%20%3E%204 for machine.cpu.count > 4';

function invalid(filter: string, reason: string): UnprocessableError {
  return new UnprocessableError(`filters: "${filter.slice(0, 200)}" ${reason}; ${EXAMPLE}`, { 'query.filters': reason });
}

export function parseFilter(filter: string): JsonFilter {
  const parts = filter.split(' ');
  if (parts.length !== 3 || parts.some((part) => part === '')) {
    throw invalid(filter, 'must be three parts separated by single spaces: <path> <operator> <value>');
  }
  const [pathText, operator, value] = parts as [string, string, string];
  const path = parseJsonPath(pathText);
  if (!path)
    throw invalid(filter, `has an invalid path "${pathText.slice(0, 100)}": dot-separated keys, none empty, at most ${MAX_PATH_DEPTH}`);
  if (!OPERATORS.includes(operator as JsonOperator)) {
    throw invalid(filter, `has an unknown operator "${operator.slice(0, 10)}"; use one of ${OPERATORS.join(' ')}`);
  }
  const op = operator as JsonOperator;
  const number = NUMBER.exec(value);
  if (number) {
    if (Math.abs(Number(number[2] ?? 0)) > MAX_EXPONENT) {
      throw invalid(filter, `has a number out of range "${value.slice(0, 40)}": its exponent must lie within ±${MAX_EXPONENT}`);
    }
    return { path, operator: op, type: 'number', value };
  }
  if (BOOLEAN.test(value)) return { path, operator: op, type: 'boolean', value: value.toLowerCase() === 'true' };
  return { path, operator: op, type: 'string', value };
}

/** The query parameters of ListResults; ListUserResults takes the same. */
export type ResultListQuery = QueryOf<'ListResults'>;

/** Criteria of a list, from its query. */
export function listCriteria(query: ResultListQuery): ResultCriteria {
  const executed = dateRange('execution', query.execution_before, query.execution_after);
  const uploaded = dateRange('upload', query.upload_before, query.upload_after);
  return {
    ...(query.benchmark_id ? { benchmarkId: query.benchmark_id } : {}),
    ...(query.site_id ? { siteId: query.site_id } : {}),
    ...(query.flavor_id ? { flavorId: query.flavor_id } : {}),
    ...(query.tags_ids ? { tagIds: query.tags_ids } : {}),
    ...(executed ? { executed } : {}),
    ...(uploaded ? { uploaded } : {}),
    filters: (query.filters ?? []).map(parseFilter),
  };
}
