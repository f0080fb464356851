// Compressed answers (`Accept-Encoding: br` or `gzip`): a page of 100 results
// is ~200 kB of JSON and 12–17 kB compressed, which is what a browser or a
// notebook across the internet waits for. Every answer goes through
// @fastify/compress, except JSON the service holds as bytes already
// (JsonText, e.g. a remembered results page), which keeps its compressed
// bytes beside it so that a page asked for again is not compressed again.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import negotiate from '@fastify/accept-negotiator';
import compress from '@fastify/compress';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export type Encoding = 'br' | 'gzip';

/**
 * Measured on a 206 kB results page (docs/PERFORMANCE.md): brotli quality 4
 * takes 1.2 ms for 12 kB (quality 11 takes a hundred times longer), gzip level
 * 6 1.7 ms for 17 kB.
 */
const BROTLI_QUALITY = 4;
const GZIP_LEVEL = 6;
/** Below this many bytes compressing saves less than it costs. */
export const COMPRESSION_THRESHOLD = 1024;

/** Preferred first when a client accepts several equally. */
const ENCODINGS: readonly (Encoding | 'identity')[] = ['br', 'gzip', 'identity'];

export async function registerCompression(app: FastifyInstance): Promise<void> {
  await app.register(compress, {
    encodings: ['br', 'gzip'],
    threshold: COMPRESSION_THRESHOLD,
    brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } },
    zlibOptions: { level: GZIP_LEVEL },
    // Request bodies stay plain JSON, as before: a body sent compressed is refused as such.
    globalDecompression: false,
  });
}

/** The encoding to answer `request` in, as @fastify/compress would choose it; undefined: none. */
export function acceptedEncoding(request: FastifyRequest): Encoding | undefined {
  const header = request.headers['accept-encoding'];
  if (header === undefined || header === '') return undefined;
  const chosen = negotiate(header, [...ENCODINGS]);
  return chosen === null || chosen === 'identity' ? undefined : chosen;
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** `bytes` compressed, in the thread pool (never on the event loop). */
export function compressBytes(bytes: Buffer, encoding: Encoding): Promise<Buffer> {
  return encoding === 'br'
    ? brotli(bytes, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
      })
    : gzip(bytes, { level: GZIP_LEVEL });
}
