# syntax=docker/dockerfile:1
# Build stage: production dependencies only (the generated client is committed).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# Runtime stage: sources, generated code and migrations, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=5000 HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json openapi.yaml tsconfig.json ./
COPY generated ./generated
COPY prisma ./prisma
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 5000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||5000)+(process.env.API_PREFIX||'')+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import=tsx", "src/server.ts"]
