// One service object per tag of the spec. An operation whose method a
// service does not have yet answers 501 (see http/operations.ts).
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { ServiceRegistry } from '../http/operations.js';
import { BenchmarksService } from './benchmarks.js';
import { FlavorsService } from './flavors.js';
import { ImageRegistry } from './image-registry.js';
import { ReportsService } from './reports.js';
import { ResultsService } from './results.js';
import { SitesService } from './sites.js';
import { TagsService } from './tags.js';
import { UsersService } from './users.js';

export interface ServiceDependencies {
  db: Database;
  config: Config;
}

export function createServices({ db, config }: ServiceDependencies): ServiceRegistry {
  const registry = config.imageRegistry ? new ImageRegistry({ url: config.imageRegistry }) : undefined;
  const results = new ResultsService(db);
  return {
    benchmarks: new BenchmarksService(db, registry),
    sites: new SitesService(db),
    flavors: new FlavorsService(db),
    tags: new TagsService(db),
    results,
    reports: new ReportsService(db),
    users: new UsersService(db, results),
  };
}
