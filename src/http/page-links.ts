// `Link: <…>; rel="next"` (RFC 8288) of a list page that another follows: the
// request's own URL, every parameter kept as the client wrote it, with `page`
// and `after` (the cursor where the next page starts) set anew. Absolute, as
// clients follow it as it is (Python's `response.links["next"]["url"]`): under
// PUBLIC_URL if set, else with the scheme and host the client sent, or that
// the proxies TRUST_PROXY believes forwarded.
import type { FastifyRequest } from 'fastify';
import { parseQueryString } from './query-string.js';

export interface NextPage {
  page: number;
  /**
   * The cursor of the next page's start (results/page-cursor.ts): base64url,
   * nothing to escape. Absent where the last result's sort values make no
   * cursor: the link then names the page by its number alone.
   */
  after?: string;
}

/** A host as a Host header may name it: a name or an address, and a port. */
const HOST = /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/;

/** Where links point instead of the request's own host: PUBLIC_URL, which includes API_PREFIX. */
export interface LinkBase {
  publicUrl: string;
  apiPrefix: string;
}

/** Whether a part of a query string sets `page` or `after`, however written (`page[]=`, `pag%65=`): read as the service reads it. */
function setsPage(part: string): boolean {
  return Object.keys(parseQueryString(part)).some((name) => name === 'page' || name === 'after');
}

export function nextPageLink(request: FastifyRequest, next: NextPage, base?: LinkBase): string {
  const mark = request.url.indexOf('?');
  const path = mark < 0 ? request.url : request.url.slice(0, mark);
  const query = mark < 0 ? '' : request.url.slice(mark + 1);
  const kept = query.split('&').filter((part) => part !== '' && !setsPage(part));
  const set = [`page=${next.page}`, ...(next.after === undefined ? [] : [`after=${next.after}`])];
  // Angle brackets would end the link early: escaped, as in any URL.
  const target = `${path}?${[...kept, ...set].join('&')}`.replace(/[<>]/g, (char) => encodeURIComponent(char));
  if (base) return `<${base.publicUrl}${target.slice(base.apiPrefix.length)}>; rel="next"`;
  // A Host header no host has is not repeated: the link is then relative to the request.
  const scheme = request.protocol === 'https' ? 'https' : 'http';
  const origin = HOST.test(request.host) ? `${scheme}://${request.host}` : '';
  return `<${origin}${target}>; rel="next"`;
}
