// GET /results:export: every matching result, streamed as CSV or NDJSON
// while a database cursor reads it (Database.readInBatches), so the service
// holds one batch at a time whatever the size. A client that goes away
// destroys the stream, which closes the cursor and so stops the query.
import negotiate from '@fastify/accept-negotiator';
import { stringify } from 'csv-stringify/sync';
import type { QueryOf } from '../api-types.js';
import type { ChangeFeed } from '../db/change-feed.js';
import type { Database } from '../db/client.js';
import { type ExportCsvRow, type ExportJsonRow, exportCsvQuery, exportJsonQuery } from '../db/result-export-query.js';
import { resultWhere } from '../db/results-query.js';
import { ServiceUnavailableError } from '../errors.js';
import { Download, streamOf } from '../http/download.js';
import type { CatalogFragments } from './catalog-fragments.js';
import { listCriteria } from './criteria.js';
import { queryJsonPath } from './json-path.js';
import { catalogIds, resultParts } from './result-json.js';
import { parseResultSort } from './sorting.js';

export type ExportQuery = QueryOf<'ExportResults'>;
type Format = NonNullable<ExportQuery['format']>;

const MEDIA_TYPES: Record<Format, string> = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson; charset=utf-8' };

/** Rows read from the database at a time: a few hundred kB of JSON. */
const BATCH_ROWS = 500;
/** Exports running at once per instance: each holds a database connection of its own. */
export const MAX_EXPORTS = 4;

const FIXED_COLUMNS = ['id', 'execution_datetime', 'upload_datetime', 'benchmark', 'site', 'flavor', 'tags'];

/** `format`, else the client's Accept header, else CSV. */
function chosenFormat(query: ExportQuery, accept: string | undefined): Format {
  if (query.format) return query.format;
  return accept && negotiate(accept, ['text/csv', 'application/x-ndjson']) === 'application/x-ndjson' ? 'ndjson' : 'csv';
}

/** RFC 4180: fields quoted where needed, CRLF after every record. */
function csvLines(records: (string | null)[][]): Buffer {
  return Buffer.from(stringify(records, { record_delimiter: '\r\n', cast: { string: (value) => value } }));
}

export class ResultExports {
  private running = 0;

  constructor(
    private readonly db: Database,
    private readonly changes: ChangeFeed,
    private readonly fragments: CatalogFragments,
  ) {}

  /**
   * The export `query` asks for. Its first batch is read before answering,
   * so that a bad query or an unavailable database is still an error status,
   * not a broken download.
   */
  async start(query: ExportQuery, accept: string | undefined): Promise<Download> {
    const format = chosenFormat(query, accept);
    const criteria = listCriteria(query);
    const sort = parseResultSort(query.sort_by);
    const columns = (query.columns ?? []).map((column) => queryJsonPath('columns', column));
    if (this.running >= MAX_EXPORTS) {
      throw new ServiceUnavailableError(`${MAX_EXPORTS} exports are running on this instance, the most it runs at once; retry shortly`);
    }
    this.running += 1;
    let released = false;
    const release = () => {
      if (!released) this.running -= 1;
      released = true;
    };
    try {
      const where = await resultWhere(this.db.prisma, criteria);
      const chunks =
        format === 'csv'
          ? this.csv(this.db.readInBatches<ExportCsvRow>(exportCsvQuery(where, sort, columns), BATCH_ROWS), query.columns ?? [])
          : this.ndjson(this.db.readInBatches<ExportJsonRow>(exportJsonQuery(where, sort), BATCH_ROWS));
      const first = await chunks.next();
      const body = streamOf(prepend(first, chunks));
      body.once('close', release);
      const stamp = new Date()
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replaceAll(':', '-');
      return new Download(MEDIA_TYPES[format], `results-${stamp}.${format}`, body);
    } catch (error) {
      release();
      throw error;
    }
  }

  private async *csv(batches: AsyncGenerator<ExportCsvRow[]>, columns: string[]): AsyncGenerator<Buffer> {
    yield csvLines([[...FIXED_COLUMNS, ...columns]]);
    for await (const rows of batches) {
      yield csvLines(
        rows.map((row) => [
          row.id,
          row.execution_datetime,
          row.upload_datetime,
          row.benchmark,
          row.site,
          row.flavor,
          row.tags.join(';'),
          ...row.values,
        ]),
      );
    }
  }

  private async *ndjson(batches: AsyncGenerator<ExportJsonRow[]>): AsyncGenerator<Buffer> {
    const { heard: trusted } = await this.changes.sync();
    for await (const rows of batches) {
      const fragments = await this.fragments.lookup(catalogIds(rows), trusted);
      const lines: Buffer[] = [];
      for (const row of rows) {
        // Undefined: a catalog entry deleted since the cursor began took this result with it.
        const parts = resultParts(row, fragments);
        if (parts) lines.push(...parts, NEWLINE);
      }
      yield Buffer.concat(lines);
    }
  }
}

const NEWLINE = Buffer.from('\n');

/** `rest` with its first step, already taken, put back in front. */
async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}
