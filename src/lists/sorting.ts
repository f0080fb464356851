// `sort_by` of every list (docs/CONTRACT.md §3): "+name,-upload_datetime"
// against the fields a resource allows, and Prisma's orderBy from it.
import { UnprocessableError } from '../errors.js';

export type SortDirection = 'asc' | 'desc';

export interface SortKey {
  /** The field as the client named it, e.g. `docker_image` or `json.machine.cpu.count`. */
  field: string;
  direction: SortDirection;
}

/**
 * Parses `sort_by` ("+name,-upload_datetime") against the fields a resource
 * allows. `isAllowed` lets results accept `json.<path>` beside fixed names.
 */
export function parseSortBy(
  sortBy: string | undefined,
  fallback: string,
  allowed: readonly string[],
  isAllowed: (field: string) => boolean = (field) => allowed.includes(field),
): SortKey[] {
  const text = sortBy === undefined || sortBy.trim() === '' ? fallback : sortBy;
  return text.split(',').map((part) => {
    // An unencoded `+` arrives as a space (`sort_by=+name`): it meant ascending.
    const sign = part[0] === ' ' ? '+' : part[0];
    const field = part.slice(1);
    if (sign !== '+' && sign !== '-') {
      throw new UnprocessableError(
        `sort_by: "${part}" must start with + (ascending) or - (descending), e.g. sort_by=+${allowed[0] ?? 'id'}`,
        { 'query.sort_by': 'missing sign' },
      );
    }
    if (!isAllowed(field)) {
      throw new UnprocessableError(`sort_by: unknown field "${field}"; allowed: ${allowed.join(', ')}`, {
        'query.sort_by': `unknown field ${field}`,
      });
    }
    return { field, direction: sign === '+' ? 'asc' : 'desc' };
  });
}

/**
 * Prisma `orderBy` for `sort_by` over plain columns. The tie-breaker column
 * (unique) comes last so that pages are stable.
 */
export function columnOrder<F extends string, T extends string = 'id'>(
  sortBy: string | undefined,
  fallback: string,
  fields: readonly F[],
  tieBreaker: T = 'id' as T,
): Partial<Record<F | T, SortDirection>>[] {
  const keys = parseSortBy(sortBy, fallback, fields);
  const order = keys.map((key) => ({ [key.field]: key.direction }) as Partial<Record<F | T, SortDirection>>);
  if (keys.some((key) => key.field === tieBreaker)) return order;
  return [...order, { [tieBreaker]: 'asc' } as Partial<Record<F | T, SortDirection>>];
}
