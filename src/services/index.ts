// One service object per tag of the spec. An operation whose method a
// service does not have yet answers 501 (see http/operations.ts).
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { ServiceRegistry } from '../http/operations.js';
import type { Notifier } from '../notifications/index.js';
import { BenchmarksService } from './benchmarks.js';
import { Claims } from './claims.js';
import { FlavorsService } from './flavors.js';
import { ImageRegistry } from './image-registry.js';
import { ReportsService } from './reports.js';
import { ResultValidator } from './result-validation.js';
import { ResultsService } from './results.js';
import { SitesService } from './sites.js';
import { TagsService } from './tags.js';
import { UsersService } from './users.js';

export interface ServiceDependencies {
  db: Database;
  config: Config;
  notifier: Notifier;
}

export interface Services {
  registry: ServiceRegistry;
  /** Releases what services hold besides the database (validation threads); after the last request. */
  close(): Promise<void>;
}

export function createServices({ db, config, notifier }: ServiceDependencies): Services {
  const images = config.imageRegistry ? new ImageRegistry({ url: config.imageRegistry }) : undefined;
  const claims = new Claims(db, notifier);
  const validator = new ResultValidator(config.validationTimeoutMs);
  const results = new ResultsService(db, claims, validator, config.resultsCacheMs);
  const registry: ServiceRegistry = {
    benchmarks: new BenchmarksService(db, notifier, images),
    sites: new SitesService(db, notifier),
    flavors: new FlavorsService(db, notifier),
    tags: new TagsService(db),
    results,
    reports: new ReportsService(db, claims),
    users: new UsersService(db, notifier, results, claims),
  };
  return { registry, close: () => validator.close() };
}
