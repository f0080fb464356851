// An answer that is a file to save rather than JSON to read: a stream of
// bytes with its media type and a file name (Content-Disposition). Services
// return one; the operation binding sends it as it is produced.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/**
 * How long a download may make no progress — a client that stopped reading
 * but keeps its connection — before its stream is destroyed, which frees what
 * produces it (a database cursor) and ends the answer.
 */
export const STALLED_DOWNLOAD_MS = 60_000;

export class Download {
  constructor(
    readonly contentType: string,
    /** The name a browser saves it under: letters, digits, `.`, `-` and `_` only (no quoting needed). */
    readonly filename: string,
    readonly body: Readable,
    /** `attachment`: saved as a file; `inline`: shown, as a log is. */
    readonly disposition: 'attachment' | 'inline' = 'attachment',
  ) {}
}

/**
 * A byte stream of `chunks`, pulled as the client reads. A chunk the client
 * has not asked to follow within `stalledMs` destroys the stream (and so
 * returns `chunks`, running its cleanup).
 */
export function streamOf(chunks: AsyncIterable<Buffer>, stalledMs = STALLED_DOWNLOAD_MS): Readable {
  let stall: NodeJS.Timeout | undefined;
  async function* watched(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of chunks) {
        // Unref'd: a stalled download never keeps the process alive.
        stall = setTimeout(() => body.destroy(), stalledMs).unref();
        yield chunk;
        clearTimeout(stall);
      }
    } finally {
      clearTimeout(stall);
    }
  }
  const body = Readable.from(watched(), { objectMode: false });
  return body;
}

export function sendDownload(reply: FastifyReply, download: Download): FastifyReply {
  return reply
    .header('content-type', download.contentType)
    .header('content-disposition', `${download.disposition}; filename="${download.filename}"`)
    .send(download.body);
}
