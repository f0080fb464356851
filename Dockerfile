# syntax=docker/dockerfile:1
# Build stage: every dependency, the sources compiled to JavaScript (npm run build),
# then the development dependencies dropped.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY generated ./generated
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts && npm cache clean --force

# Runtime stage: compiled code, production dependencies, the spec, the migrations and
# the explorer page's files, as a non-root user; plain `node`, no TypeScript loader in
# the process.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=5000 HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json openapi.yaml ./
COPY prisma ./prisma
COPY web ./web
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 5000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||5000)+(process.env.API_PREFIX||'')+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/server.js"]
