// Security headers on every answer (@fastify/helmet), with a Content
// Security Policy the service's own pages live with: scripts and styles only
// from the service itself (Swagger UI's assets are served from
// swagger-ui-dist, see docs.ts, with no inline script), images also as data:
// URIs (Swagger UI's icons), calls only back to the service. Inline style
// attributes stay allowed: Swagger UI sets some, and they cannot run code.
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  // Not forced: the service is often reached over plain HTTP (a laptop, behind a TLS proxy).
  upgradeInsecureRequests: null,
};

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // The API is read by pages of other origins (the EOSC frontend, through CORS).
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
}
