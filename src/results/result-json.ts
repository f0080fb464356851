// A result's JSON as the API shows it (the `Result` schema): its own fields
// as PostgreSQL wrote them (db/results-query.ts), then its benchmark, site,
// flavor and tags spliced in as the bytes CatalogFragments holds, so that no
// embedded entry is written or encoded again per result.
import type { ResultRow } from '../db/results-query.js';
import type { CatalogIds, FragmentLookup } from './catalog-fragments.js';

const BENCHMARK = Buffer.from(',"benchmark":');
const SITE = Buffer.from(',"site":');
const FLAVOR = Buffer.from(',"flavor":');
const TAGS = Buffer.from(',"tags":[');
const COMMA = Buffer.from(',');
const END = Buffer.from(']}');

/** Every catalog entry that `rows` embed. */
export function catalogIds(rows: readonly ResultRow[]): CatalogIds {
  const ids: CatalogIds = { benchmark: new Set(), site: new Set(), flavor: new Set(), tag: new Set() };
  for (const row of rows) {
    ids.benchmark.add(row.benchmark_id);
    ids.site.add(row.site_id);
    ids.flavor.add(row.flavor_id);
    for (const tag of row.tag_ids) ids.tag.add(tag);
  }
  return ids;
}

/**
 * The UTF-8 parts of a `ResultSummary` (`embed=false`): `row`'s own fields
 * and the ids of what the full result embeds.
 */
export function summaryParts(row: ResultRow): Buffer[] {
  const ids = `,"benchmark_id":"${row.benchmark_id}","site_id":"${row.site_id}","flavor_id":"${row.flavor_id}","tags_ids":${JSON.stringify(row.tag_ids)}}`;
  return [Buffer.from(row.own.slice(0, -1) + ids, 'utf8')];
}

/**
 * The UTF-8 parts of `row`'s JSON, to be concatenated; undefined when an
 * entry it embeds is gone (deleted after the row was read): read it again.
 */
export function resultParts(row: ResultRow, fragments: FragmentLookup): Buffer[] | undefined {
  const benchmark = fragments('benchmark', row.benchmark_id);
  const site = fragments('site', row.site_id);
  const flavor = fragments('flavor', row.flavor_id);
  if (!benchmark || !site || !flavor) return undefined;
  // The own fields' object, without its closing brace.
  const parts = [Buffer.from(row.own.slice(0, -1), 'utf8'), BENCHMARK, benchmark, SITE, site, FLAVOR, flavor, TAGS];
  for (const [index, id] of row.tag_ids.entries()) {
    const tag = fragments('tag', id);
    if (!tag) return undefined;
    if (index > 0) parts.push(COMMA);
    parts.push(tag);
  }
  parts.push(END);
  return parts;
}
