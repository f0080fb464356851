// Raw SQL of GET /results:export: every matching result, in the list's
// order, as rows for a cursor (Database.readInBatches). The same WHERE and
// ORDER BY as lists (results-query.ts); every column is text, so that both
// drivers read the same values. CSV columns' paths are bound parameters.
import { Prisma } from '../../generated/prisma/client.js';
import { RESULT_OWN_SHAPE } from '../views.js';
import {
  isoText,
  JOINS,
  jsonObject,
  needsJoins,
  orderClause,
  type ResultRow,
  type ResultSortKey,
  type ResultWhere,
  tagIdsOf,
} from './results-query.js';

/** A result as NDJSON writes it: its own JSON and the ids of what it embeds (as a page reads it). */
export type ExportJsonRow = Omit<ResultRow, 'total'>;

/** A result as a CSV row: the fixed columns, then the values at the requested paths. */
export interface ExportCsvRow {
  id: string;
  execution_datetime: string;
  upload_datetime: string;
  benchmark: string;
  site: string;
  flavor: string;
  /** By name, byte-wise. */
  tags: string[];
  /** The text of the string, number or boolean at each path; null for anything else. */
  values: (string | null)[];
}

export function exportJsonQuery(where: ResultWhere, sort: ResultSortKey[]): Prisma.Sql {
  return Prisma.sql`
    SELECT ${jsonObject(RESULT_OWN_SHAPE, 'r')}::text AS own,
      r.benchmark_id::text AS benchmark_id, r.site_id::text AS site_id, r.flavor_id::text AS flavor_id,
      ${tagIdsOf(Prisma.raw('r.id'))} AS tag_ids
    FROM results r ${needsJoins(sort) ? JOINS : Prisma.empty} ${where.sql} ${orderClause(sort)}`;
}

/** The scalar at `path` as text: a string's text, a number's or boolean's JSON; NULL otherwise. */
function scalarAt(path: string[]): Prisma.Sql {
  return Prisma.sql`(CASE WHEN jsonb_typeof(r.json #> ${path}::text[]) IN ('string', 'number', 'boolean')
    THEN r.json #>> ${path}::text[] END)`;
}

export function exportCsvQuery(where: ResultWhere, sort: ResultSortKey[], columns: string[][]): Prisma.Sql {
  const values = columns.length > 0 ? Prisma.sql`ARRAY[${Prisma.join(columns.map(scalarAt))}]` : Prisma.sql`ARRAY[]::text[]`;
  return Prisma.sql`
    SELECT r.id::text AS id, ${isoText(Prisma.raw('r.execution_datetime'))} AS execution_datetime,
      ${isoText(Prisma.raw('r.upload_datetime'))} AS upload_datetime,
      b.docker_image || ':' || b.docker_tag AS benchmark, s.name AS site, f.name AS flavor,
      ARRAY(SELECT t.name FROM result_tags rt JOIN tags t ON t.id = rt.tag_id
            WHERE rt.result_id = r.id ORDER BY t.name COLLATE "C") AS tags,
      ${values} AS values
    FROM results r ${JOINS} ${where.sql} ${orderClause(sort)}`;
}
