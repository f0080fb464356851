// Loads openapi.yaml, the single source of the HTTP contract, and indexes its
// operations by operationId for the route binding.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fromRoot } from '../package-root.js';

export const SPEC_PATH = fromRoot('openapi.yaml');

export interface OpenApiOperation {
  operationId: string;
  tags?: string[];
  responses: Record<string, unknown>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  [key: string]: unknown;
}

/** What the binding needs to know about one operation. */
export interface OperationInfo {
  operationId: string;
  method: string;
  path: string;
  tag: string;
  /** The operation's 2xx status: 200, 201 or 204. */
  successStatus: number;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

export function loadSpec(file: string = SPEC_PATH): OpenApiDocument {
  return parse(readFileSync(file, 'utf8')) as OpenApiDocument;
}

export function indexOperations(spec: OpenApiDocument): Map<string, OperationInfo> {
  const index = new Map<string, OperationInfo>();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const success = Object.keys(operation.responses)
        .map(Number)
        .filter((code) => code >= 200 && code < 300)
        .sort((a, b) => a - b)[0];
      index.set(operation.operationId, {
        operationId: operation.operationId,
        method: method.toUpperCase(),
        path,
        tag: operation.tags?.[0] ?? 'default',
        successStatus: success ?? 200,
      });
    }
  }
  return index;
}
