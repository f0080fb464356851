// `Link: <…>; rel="next"` (RFC 8288) of a list page that another follows: the
// request's own URL, every parameter kept as the client wrote it, with `page`
// and `after` (the cursor where the next page starts) set anew. Absolute, as
// clients follow it as it is (Python's `response.links["next"]["url"]`): under
// PUBLIC_URL if set, else with the scheme and host the client sent, or that
// the proxies TRUST_PROXY believes forwarded.
import type { FastifyRequest } from 'fastify';

export interface NextPage {
  page: number;
  /** The cursor of the next page's start (results/page-cursor.ts): base64url, nothing to escape. */
  after: string;
}

/** A host as a Host header may name it: a name or an address, and a port. */
const HOST = /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/;

/** Where links point instead of the request's own host: PUBLIC_URL, which includes API_PREFIX. */
export interface LinkBase {
  publicUrl: string;
  apiPrefix: string;
}

export function nextPageLink(request: FastifyRequest, next: NextPage, base?: LinkBase): string {
  const [path, query = ''] = request.url.split('?', 2) as [string, string?];
  const kept = query.split('&').filter((part) => part !== '' && !/^(page|after)(=|$)/.test(part));
  // Angle brackets would end the link early: escaped, as in any URL.
  const target = `${path}?${[...kept, `page=${next.page}`, `after=${next.after}`].join('&')}`.replace(/[<>]/g, (char) =>
    encodeURIComponent(char),
  );
  if (base) return `<${base.publicUrl}${target.slice(base.apiPrefix.length)}>; rel="next"`;
  // A Host header no host has is not repeated: the link is then relative to the request.
  const scheme = request.protocol === 'https' ? 'https' : 'http';
  const origin = HOST.test(request.host) ? `${scheme}://${request.host}` : '';
  return `<${origin}${target}>; rel="next"`;
}
