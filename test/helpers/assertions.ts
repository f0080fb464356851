// Assertions the API suites make the same way: the JSON error body, the
// pagination envelope, the common fields of catalog items.
import type { LightMyRequestResponse } from 'fastify';
import { json, type Test } from './app.js';
import { ERROR_CODES, PAGE_KEYS, type ErrorBody, type Page } from './contract.js';

/**
 * A failure answered as the contract says: status `code`, a JSON body
 * `{code, status, error_code, message}` with the same code, and no stack trace. Returns the body.
 */
export function assertError(t: Test, response: LightMyRequestResponse, code: number): ErrorBody {
  t.equal(response.statusCode, code, `status ${code}: ${response.body.slice(0, 500)}`);
  t.match(String(response.headers['content-type']), /^application\/json/);
  const body = JSON.parse(response.body) as ErrorBody;
  t.equal(body.code, code);
  t.type(body.status, 'string');
  t.type(body.message, 'string');
  t.ok(ERROR_CODES.includes(body.error_code), `error_code ${body.error_code} is one the spec lists`);
  t.notMatch(response.body, /at .*\.ts:\d+/, 'no stack trace');
  return body;
}

/**
 * A site or flavor as answered: exactly `keys` (those of schema `schema`), an
 * id shaped like a UUID, and an upload_datetime that is a date in UTC.
 */
export function assertCatalogItem(t: Test, item: { id: string; upload_datetime: string }, keys: readonly string[], schema: string): void {
  t.same(Object.keys(item).sort(), keys, `exactly the ${schema} fields`);
  t.match(item.id, /^[0-9a-f-]{36}$/);
  t.ok(!Number.isNaN(Date.parse(item.upload_datetime)), 'upload_datetime is a date');
  t.match(item.upload_datetime, /Z$/, 'in UTC');
}

/** Exactly the keys of the pagination envelope, with the values in `expected`. */
export function assertPage<T>(t: Test, page: Page<T>, expected: Partial<Page<T>>): void {
  t.same(Object.keys(page).sort(), PAGE_KEYS, 'exactly the pagination envelope');
  t.match(page, expected);
}

/**
 * A 200 answering a page: exactly the keys of the pagination envelope and, given
 * `itemKeys`, exactly those keys on every item. Returns the page.
 */
export function assertPageResponse<T>(t: Test, response: LightMyRequestResponse, itemKeys?: readonly string[]): Page<T> {
  t.equal(response.statusCode, 200, response.body.slice(0, 500));
  const page = json<Page<T>>(response);
  t.same(Object.keys(page).sort(), PAGE_KEYS, 'the pagination envelope');
  if (itemKeys) for (const item of page.items) t.same(Object.keys(item as object).sort(), itemKeys);
  return page;
}

/** The ids of a page's items, in order. */
export function ids(page: { items: readonly { id: string }[] }): string[] {
  return page.items.map((item) => item.id);
}
