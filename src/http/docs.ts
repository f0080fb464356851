// The documentation the service serves about itself (docs/CONTRACT.md §3):
// the OpenAPI document at GET /api-spec.json — its one address — and Swagger
// UI at GET /, whose scripts and styles come from the swagger-ui-dist package
// and are served by this service (no CDN, works offline). The page is ours:
// the service's title, the spec loaded from /api-spec.json, no framework
// logo bar (Swagger UI's BaseLayout shows the spec's own title and
// description), and no inline script or style.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { escapeHtml } from './html.js';
import type { OpenApiDocument } from './spec.js';

const SWAGGER_UI_DIR = path.dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')));

/** The files of swagger-ui-dist the page uses; nothing else of the package is served. */
const ASSETS = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js', '/favicon-32x32.png', '/favicon-16x16.png']);

function indexHtml(title: string, base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${base}/static/swagger-ui.css">
<link rel="icon" type="image/png" href="${base}/static/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="${base}/static/favicon-16x16.png" sizes="16x16">
</head>
<body>
<main id="swagger-ui" aria-label="${escapeHtml(title)}: operations"></main>
<script src="${base}/static/swagger-ui-bundle.js"></script>
<script src="${base}/static/swagger-initializer.js"></script>
</body>
</html>
`;
}

function initializer(specUrl: string): string {
  return `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(specUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
  });
});
`;
}

/** Registers /api-spec.json, / and /static/… inside `app`, which carries API_PREFIX (`prefix`). */
export async function registerDocs(app: FastifyInstance, spec: OpenApiDocument, prefix: string): Promise<void> {
  const specText = JSON.stringify(spec);
  const page = indexHtml(spec.info.title, prefix);
  const script = initializer(`${prefix}/api-spec.json`);
  app.get('/api-spec.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(specText));
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
  app.get('/static/swagger-initializer.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
  await app.register(fastifyStatic, {
    root: SWAGGER_UI_DIR,
    prefix: '/static/',
    index: false,
    decorateReply: false,
    allowedPath: (pathName) => ASSETS.has(pathName),
  });
}
