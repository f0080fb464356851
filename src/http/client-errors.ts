// Requests Node refuses before Fastify sees them — headers or a body that do
// not arrive in time (408), headers over the size limit (431), bytes that are
// not HTTP (400) — are answered in the API's error body too, and the
// connection is closed: the rest of such a request cannot be read.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type ApiError, BadRequestError, HeadersTooLargeError, RequestTimeoutError } from '../errors.js';
import { errorBody } from './error-handler.js';

/** The largest request line and headers read: room for every query string the spec's bounds allow. */
export const MAX_HEADER_SIZE = 256 * 1024;

/** How often Node checks requests against the request and headers timeouts (its default, 30 s, would let them run late). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

function answerFor(code: string | undefined): ApiError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestTimeoutError();
  if (code === 'HPE_HEADER_OVERFLOW') return new HeadersTooLargeError();
  return new BadRequestError('The request is not valid HTTP');
}

/** Fastify's `clientErrorHandler`: writes the JSON error straight to the socket, then closes it. */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A connection the client reset has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = answerFor(error.code);
  this.log.debug({ code: error.code }, `client error: ${answer.statusCode}`);
  // Once a response has started on this socket, no second one can be written.
  const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!socket.writable || started) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(answer));
  socket.end(
    `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
  // A client that never reads its answer does not keep the socket.
  setTimeout(() => socket.destroy(), 5000).unref();
}
