// One service object per tag of the spec. An operation whose method a
// service does not have yet answers 501 (see http/operations.ts).
import type { Database } from '../db/client.js';
import type { ServiceRegistry } from '../http/operations.js';
import { UsersService } from './users.js';

export interface ServiceDependencies {
  db: Database;
}

export function createServices({ db }: ServiceDependencies): ServiceRegistry {
  return {
    benchmarks: {},
    sites: {},
    flavors: {},
    tags: {},
    results: {},
    reports: {},
    users: new UsersService(db),
  };
}
