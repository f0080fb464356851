// Assembles the service: HTTP conventions first, then the documentation, then
// every operation of openapi.yaml bound to its service method.
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { Notifier } from './notifications/index.js';
import { securityHandlers, type Authenticator } from './auth/security.js';
import { registerBodyParsers } from './http/body-parsers.js';
import { registerCompression } from './http/compression.js';
import { registerHttpCaching } from './http/http-caching.js';
import { registerDocs } from './http/docs.js';
import { registerExplorer } from './http/explorer.js';
import { errorBody, frameworkErrorHandler, registerErrorHandlers } from './http/error-handler.js';
import { DatabaseUnavailableError } from './errors.js';
import { refuseUnstorableValues } from './http/storable-values.js';
import { refuseWhileStopping } from './http/stopping.js';
import { Admission } from './http/admission.js';
import { bindOperations } from './http/operations.js';
import { parseQueryString, refuseMalformedQueryStrings } from './http/query-string.js';
import { clientErrorHandler, MAX_HEADER_SIZE, TIMEOUT_CHECK_INTERVAL_MS } from './http/client-errors.js';
import { rateLimitHook } from './http/rate-limits.js';
import { logRequests } from './http/request-log.js';
import { registerMetrics } from './http/metrics.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { loadSpec } from './http/spec.js';
import { validatorCompiler } from './http/request-validation.js';
import { createServices } from './services/index.js';
import { version } from './version.js';

export interface AppDependencies {
  config: Config;
  db: Database;
  authenticator: Authenticator;
  /** Sends (or logs) e-mail notifications; closed by whoever created it. */
  notifier: Notifier;
  /** pino logger; none (silent) in tests. */
  logger?: FastifyBaseLogger;
}

export async function buildApp({ config, db, authenticator, notifier, logger }: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // One line per request instead, with its operation (http/request-log.ts);
    // errors are logged by http/error-handler.ts.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { querystringParser: parseQueryString, maxParamLength: 200 },
    // Parsing a proto-poisoned body is a client error (400), never a crash.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    frameworkErrors: frameworkErrorHandler,
    // Slow or stalled clients (a body announced and never sent, headers
    // dribbled in) hold a connection no longer than these.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      maxHeaderSize: MAX_HEADER_SIZE,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    clientErrorHandler,
    // Answered below, in the API's error body.
    return503OnClosing: false,
    // Behind a reverse proxy: the client's address (rate limits, logs) from X-Forwarded-For.
    trustProxy: config.trustProxy,
  });
  // First, so that every route and hook added after it is traced. Loaded only when asked
  // for: without tracing, the OpenTelemetry packages cost the start nothing.
  if (config.tracing) await (await import('./http/tracing.js')).registerTracing(app, config.tracing);
  app.setValidatorCompiler(validatorCompiler());
  registerErrorHandlers(app);
  registerBodyParsers(app);
  refuseMalformedQueryStrings(app);
  refuseUnstorableValues(app);
  refuseWhileStopping(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  logRequests(app, config.slowRequestMs);
  registerHttpCaching(app);
  await registerCompression(app);

  await registerSecurityHeaders(app);
  await app.register(cors, {
    origin: config.corsOrigins === '*' ? '*' : config.corsOrigins,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'If-None-Match', 'Idempotency-Key'],
    // What a page's script may read besides the safelisted headers: the next page, when to retry.
    exposedHeaders: ['X-Request-Id', 'ETag', 'Link', 'Retry-After'],
    maxAge: 600,
  });

  const spec = loadSpec();
  spec.servers = [{ url: config.apiPrefix || '/' }];
  const services = createServices({ db, config, notifier, log: app.log });
  if (config.metricsToken) registerMetrics(app, config.metricsToken, { db, notifier, services: services.observe });
  // Registered before the operations' plugin, so it runs after it (onClose runs in reverse):
  // only once every running service call is done.
  app.addHook('onClose', () => services.close());

  await app.register(
    async (api) => {
      await registerDocs(api, spec, config.apiPrefix);
      await registerExplorer(api, spec.info.title, config.apiPrefix);
      api.get('/healthz', async (_request, reply) => {
        try {
          await db.ping();
          return { status: 'ok', version };
        } catch {
          return reply.code(503).send(errorBody(new DatabaseUnavailableError('The database does not answer')));
        }
      });
      const rateLimit = await rateLimitHook(api, config.rateLimits);
      await bindOperations(api, {
        spec,
        services: services.registry,
        onWrite: services.onWrite,
        admission: new Admission({
          maxRunning: config.maxConcurrentRequests,
          maxQueued: config.maxQueuedRequests,
          maxWaitMs: config.maxQueueWaitMs,
        }),
        authorizers: services.authorizers,
        ...(rateLimit ? { rateLimit } : {}),
        ...(config.publicUrl ? { linkBase: { publicUrl: config.publicUrl, apiPrefix: config.apiPrefix } } : {}),
        securityHandlers: securityHandlers({
          authenticator,
          adminEntitlements: config.adminEntitlements,
          findUser: (sub, iss) => db.prisma.user.findUnique({ where: { sub_iss: { sub, iss } } }),
        }),
      });
    },
    { prefix: config.apiPrefix },
  );
  return app;
}
