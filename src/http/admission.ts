// Admission control for the API's operations: at most `maxRunning` requests
// are worked on at once and at most `maxQueued` wait for a turn, first come
// first served; beyond that a request is refused at once with a 503 and
// Retry-After, before its body is read. A request whose turn comes after it
// waited longer than `maxWaitMs` is refused too, without being worked on: its
// client has likely given up, and serving it would only make every request
// behind it wait longer. Under overload the service then keeps working at the
// pace its database allows, on requests whose clients still wait, and a
// client waits seconds for a clear "try again" instead of minutes.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ServiceUnavailableError } from '../errors.js';

export interface AdmissionLimits {
  /** Requests worked on at once (MAX_CONCURRENT_REQUESTS); 0: no limit. */
  maxRunning: number;
  /** Requests waiting for a turn (MAX_QUEUED_REQUESTS). */
  maxQueued: number;
  /** Longest wait for a turn, ms (MAX_QUEUE_WAIT_MS); past it the request is refused when its turn comes. */
  maxWaitMs: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Gives this request's turn back; set while it holds one. */
    releaseTurn?: () => void;
  }
}

export class Admission {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limits: AdmissionLimits) {}

  /** An onRequest hook: waits for a turn, or refuses the request with a 503. */
  readonly admit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (this.limits.maxRunning <= 0) return;
    if (this.running >= this.limits.maxRunning) {
      if (this.waiting.length >= this.limits.maxQueued) {
        reply.header('retry-after', '1');
        throw new ServiceUnavailableError('The service is busy; try again in a moment');
      }
      // A client that goes away while waiting gives up its place in the line.
      const queuedAt = performance.now();
      const socket = request.raw.socket;
      let turn: (() => void) | undefined;
      const gone = new Promise<'gone'>((resolve) => socket?.once('close', () => resolve('gone')));
      const admitted = new Promise<'admitted'>((resolve) => {
        turn = () => resolve('admitted');
        this.waiting.push(turn);
      });
      if ((await Promise.race([admitted, gone])) === 'gone') {
        const place = turn ? this.waiting.indexOf(turn) : -1;
        if (place >= 0) this.waiting.splice(place, 1);
        // Its turn may have come at the same moment: pass it on.
        else this.handOn();
        throw new ServiceUnavailableError('The client went away while waiting');
      }
      if (performance.now() - queuedAt > this.limits.maxWaitMs) {
        this.handOn();
        reply.header('retry-after', '1');
        throw new ServiceUnavailableError('The service is busy; try again in a moment');
      }
    } else {
      this.running += 1;
    }
    let released = false;
    request.releaseTurn = () => {
      if (released) return;
      released = true;
      this.handOn();
    };
    // However the request ends — answered, failed, or its client gone.
    reply.raw.once('close', request.releaseTurn);
  };

  /** An onResponse / onRequestAbort hook. */
  readonly release = async (request: FastifyRequest): Promise<void> => {
    request.releaseTurn?.();
  };

  /** Passes a finished request's turn to the next in line, or frees it. */
  private handOn(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }
}
