// `Link: <…>; rel="next"` (RFC 8288) of a list page that another follows: the
// request's own URL, every parameter kept as the client wrote it, with `page`
// and `after` (the cursor where the next page starts) set anew. Absolute, as
// clients follow it as it is (Python's `response.links["next"]["url"]`):
// scheme and host as the client sent them, or as the proxies TRUST_PROXY
// believes forwarded them.
import type { FastifyRequest } from 'fastify';

export interface NextPage {
  page: number;
  /** The cursor of the next page's start (results/page-cursor.ts): base64url, nothing to escape. */
  after: string;
}

/** A host as a Host header may name it: a name or an address, and a port. */
const HOST = /^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/;

export function nextPageLink(request: FastifyRequest, next: NextPage): string {
  const [path, query = ''] = request.url.split('?', 2) as [string, string?];
  const kept = query.split('&').filter((part) => part !== '' && !/^(page|after)(=|$)/.test(part));
  // Angle brackets would end the link early: escaped, as in any URL.
  const target = `${path}?${[...kept, `page=${next.page}`, `after=${next.after}`].join('&')}`.replace(/[<>]/g, (char) =>
    encodeURIComponent(char),
  );
  // A Host header no host has is not repeated: the link is then relative to the request.
  const origin = HOST.test(request.host) ? `${request.protocol}://${request.host}` : '';
  return `<${origin}${target}>; rel="next"`;
}
