// `filters=<path> <op> <value>` and `sort_by=±json.<path>` for results
// (CONTRACT §4), parsed into the typed conditions the results query takes.
// A malformed filter is a 422 that says why and shows an example.
import type { JsonFilter, JsonOperator, ResultColumn, ResultSortKey } from '../db/results-query.js';
import { UnprocessableError } from '../errors.js';
import { parseSortBy } from './lists.js';

const OPERATORS: readonly JsonOperator[] = ['==', '>', '<', '>=', '<='];
const NUMBER = /^-?(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?$/;
/** PostgreSQL's numeric refuses an exponent beyond ±1000 (an error, so a 500, if it got there). */
const MAX_EXPONENT = 1000;
const BOOLEAN = /^(true|false)$/i;
const MAX_DEPTH = 32;
const EXAMPLE = 'e.g. filters=machine.cpu.count%20%3E%204 for machine.cpu.count > 4';

export const RESULT_SORT_FIELDS: readonly ResultColumn[] = [
  'id',
  'upload_datetime',
  'execution_datetime',
  'benchmark_id',
  'benchmark_name',
  'site_id',
  'site_name',
  'site_address',
  'flavor_id',
  'flavor_name',
];

function invalid(filter: string, reason: string): UnprocessableError {
  return new UnprocessableError(`filters: "${filter.slice(0, 200)}" ${reason}; ${EXAMPLE}`, { 'query.filters': reason });
}

/**
 * `machine.cpu.count` → ['machine', 'cpu', 'count']; undefined when a key is empty or it is too deep.
 * (A NUL never gets here: http/value-guard.ts refuses it in every query.)
 */
function jsonPath(text: string): string[] | undefined {
  const path = text.split('.');
  return path.length <= MAX_DEPTH && path.every((key) => key !== '') ? path : undefined;
}

export function parseFilter(filter: string): JsonFilter {
  const parts = filter.split(' ');
  if (parts.length !== 3 || parts.some((part) => part === '')) {
    throw invalid(filter, 'must be three parts separated by single spaces: <path> <operator> <value>');
  }
  const [pathText, operator, value] = parts as [string, string, string];
  const path = jsonPath(pathText);
  if (!path) throw invalid(filter, `has an invalid path "${pathText.slice(0, 100)}": dot-separated keys, none empty, at most ${MAX_DEPTH}`);
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

/** `sort_by` for results: the fixed fields and `json.<path>`. */
export function parseResultSort(sortBy: string | undefined): ResultSortKey[] {
  const allowed = [...RESULT_SORT_FIELDS, 'json.<path>'];
  const isAllowed = (field: string) =>
    (RESULT_SORT_FIELDS as readonly string[]).includes(field) || (field.startsWith('json.') && jsonPath(field.slice(5)) !== undefined);
  return parseSortBy(sortBy, '+execution_datetime', allowed, isAllowed).map((key) =>
    key.field.startsWith('json.')
      ? { jsonPath: jsonPath(key.field.slice(5)) ?? [], direction: key.direction }
      : { column: key.field as ResultColumn, direction: key.direction },
  );
}
