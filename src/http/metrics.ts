// Prometheus metrics at GET /metrics (prom-client), for operators: requests
// by operation (the spec's operationId, never the raw URL, so that the
// number of series stays bounded), their status and latency; the database
// pool; the results cache and its invalidations; the validation and mail
// queues; and prom-client's process metrics (event-loop delay, memory, GC).
// Served only when METRICS_TOKEN is set, to callers that send it as a bearer
// token: the figures tell a stranger how busy the service is and with what.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.js';
import { UnauthorizedError } from '../errors.js';
import type { Notifier } from '../notifications/index.js';
import type { ServiceMetrics } from '../services/index.js';
import { errorBody } from './error-handler.js';
import { operationOf } from './request-log.js';

export interface MetricsSources {
  db: Database;
  notifier: Notifier;
  services: () => ServiceMetrics;
}

/** Latency buckets, seconds: from a remembered page (~1 ms) to a request that waited its turn. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Registers the request hooks and GET /metrics; `token` is METRICS_TOKEN. */
export function registerMetrics(app: FastifyInstance, token: string, sources: MetricsSources): void {
  // A registry per service, not prom-client's global one: tests build many.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'eosc_perf_' });
  const requests = new Counter({
    name: 'eosc_perf_http_requests_total',
    help: 'Requests answered, by operationId, method and status',
    labelNames: ['operation', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'eosc_perf_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer sent, by operationId',
    labelNames: ['operation'],
    buckets: BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const operation = operationOf(request);
    requests.inc({ operation, method: request.method, status: String(reply.statusCode) });
    duration.observe({ operation }, reply.elapsedTime / 1000);
  });

  new Gauge({
    name: 'eosc_perf_db_pool_connections',
    help: 'PostgreSQL pool: connections open, idle, and queries waiting for one (absent on the embedded database)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const stats = sources.db.poolStats();
      if (!stats) return;
      this.set({ state: 'total' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
    },
  });
  new Gauge({
    name: 'eosc_perf_db_replicas_answering',
    help: 'Read replicas (DATABASE_REPLICA_URLS) that answer; one that does not is probed until it does (absent without replicas)',
    registers: [registry],
    collect() {
      const stats = sources.db.replicaStats();
      if (stats) this.set(stats.up);
    },
  });
  // Counters whose totals the services keep: each scrape adds what was counted since the last.
  const counted = new Map<string, number>();
  const catchUp = (counter: Counter<string>, labels: Record<string, string>, total: number) => {
    const key = JSON.stringify(labels);
    counter.inc(labels, total - (counted.get(key) ?? 0));
    counted.set(key, total);
  };
  new Counter({
    name: 'eosc_perf_results_cache_lookups_total',
    help: 'Results pages and counts asked for: answered from memory (hit) or read (miss)',
    labelNames: ['cache', 'outcome'],
    registers: [registry],
    collect() {
      const { resultsCache } = sources.services();
      for (const cache of ['pages', 'counts'] as const) {
        catchUp(this, { cache, outcome: 'hit' }, resultsCache[cache].hits);
        catchUp(this, { cache, outcome: 'miss' }, resultsCache[cache].misses);
      }
    },
  });
  new Counter({
    name: 'eosc_perf_results_cache_invalidations_total',
    help: 'Times remembered results pages were made stale (commits heard, change feed lost)',
    registers: [registry],
    collect() {
      catchUp(this, {}, sources.services().invalidations);
    },
  });
  new Counter({
    name: 'eosc_perf_db_replica_reads_total',
    help:
      'Reads that may be remembered, by where they went: a replica, or the primary because no replica had replayed the ' +
      "request's commits (behind), none answers (down), the read failed on one (failed), or the change feed is deaf (unsynced)",
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const stats = sources.db.replicaStats();
      if (!stats) return;
      for (const [outcome, total] of Object.entries(stats.reads)) catchUp(this, { outcome }, total);
    },
  });
  new Gauge({
    name: 'eosc_perf_change_feed_listening',
    help: '1 while the instance hears every commit (LISTEN); 0 while it bypasses its cache',
    registers: [registry],
    collect() {
      this.set(sources.services().listening ? 1 : 0);
    },
  });
  new Gauge({
    name: 'eosc_perf_validation_queue',
    help: 'Result checks waiting for a validation thread',
    registers: [registry],
    collect() {
      this.set(sources.services().validationQueue);
    },
  });
  new Gauge({
    name: 'eosc_perf_mail_queue',
    help: 'Notification e-mails queued, not yet handed to the relay',
    registers: [registry],
    collect() {
      this.set(sources.notifier.pending());
    },
  });

  const expected = Buffer.from(`Bearer ${token}`);
  app.get('/metrics', async (request, reply) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send(errorBody(new UnauthorizedError('METRICS_TOKEN is required as a bearer token')));
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
