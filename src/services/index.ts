// One service object per tag of the spec, and what they share: the claims
// and review workflows, result pages and their cache, result validation.
// The registry's type (api-types.ts) has one method per operation of each
// tag, so a missing, misnamed or mistyped operation method fails `tsc`.
import type { OperationId, ServiceRegistry } from '../api-types.js';
import { ImageRegistry } from '../catalog/image-registry.js';
import type { Config } from '../config.js';
import type { Database, FeedLog } from '../db/client.js';
import type { Authorizer } from '../http/operations.js';
import type { Notifier } from '../notifications/index.js';
import { CatalogFragments } from '../results/catalog-fragments.js';
import { ClaimWorkflow } from '../results/claims.js';
import { GroupStatistics } from '../results/group-statistics.js';
import { ResultExports } from '../results/result-export.js';
import { ownerOrAdminOfResult } from '../results/ownership.js';
import { WriteGeneration } from '../results/page-cache.js';
import { ResultPages } from '../results/result-pages.js';
import { ResultValidator } from '../results/validation/validator.js';
import { requesterOrAdmin, runnerOfRun, runnerOfSite } from '../runs/authorization.js';
import { RunLeases } from '../runs/leases.js';
import { RunOutcomes } from '../runs/outcomes.js';
import { RunLists } from '../runs/run-lists.js';
import { BenchmarksService } from './benchmarks.js';
import { FlavorsService } from './flavors.js';
import { ReportsService } from './reports.js';
import { ResultsService } from './results.js';
import { RunsService } from './runs.js';
import { SitesService } from './sites.js';
import { TagsService } from './tags.js';
import { UsersService } from './users.js';

export interface ServiceDependencies {
  db: Database;
  config: Config;
  notifier: Notifier;
  /** Where the services say what happens outside any request (the change feed going down and up). */
  log: FeedLog;
}

export interface ServiceMetrics {
  resultsCache: ResultPages['stats'];
  /** Times remembered pages were made stale: commits heard, and losses of the change feed. */
  invalidations: number;
  /** Whether the change feed hears other instances' commits (else the cache is bypassed). */
  listening: boolean;
  /** Result checks waiting for a validation thread. */
  validationQueue: number;
}

export interface Services {
  registry: ServiceRegistry;
  /**
   * For the operation binding: called when the service call of a write has
   * ended, before its response goes out. Remembered result pages and counts
   * are stale from then on, unless the operation cannot change them.
   */
  onWrite(operationId: OperationId): void;
  /** For the operation binding: who may act on the result an "owner or admin" operation names, decided before validation. */
  authorizers: Partial<Record<OperationId, Authorizer>>;
  /** What /metrics reports of the services (http/metrics.ts). */
  observe(): ServiceMetrics;
  /** Releases what services hold besides the database (validation threads); after the last request. */
  close(): Promise<void>;
}

/**
 * Writes that cannot change any results page or count: a user's own record,
 * and a new catalog entry that no result names yet (search terms match a
 * new tag's name, but no result carries it).
 */
const UNSEEN_BY_RESULT_PAGES: ReadonlySet<OperationId> = new Set<OperationId>([
  'RegisterSelf',
  'UpdateSelf',
  'CreateBenchmark',
  'CreateSite',
  'AddFlavor',
  'CreateTag',
  // A run's own changes; only completing one stores a result.
  'CreateRun',
  'CancelRun',
  'TakeRun',
  'HeartbeatRun',
  'FailRun',
  'UpdateSiteRunners',
  'DeleteSiteRunners',
]);

/** The tables whose rows results embed (the change feed names the changed table). */
const CATALOG_TABLES: ReadonlySet<string> = new Set(['benchmarks', 'sites', 'flavors', 'tags']);

export function createServices({ db, config, notifier, log }: ServiceDependencies): Services {
  const images = config.imageRegistry ? new ImageRegistry({ url: config.imageRegistry }) : undefined;
  const claims = new ClaimWorkflow(db, notifier);
  const validator = new ResultValidator(config.validationTimeoutMs, config.validationThreads);
  const generation = new WriteGeneration();
  const fragments = new CatalogFragments(db);
  // Any committed change, through this instance or another, makes remembered pages stale;
  // a change to the catalog, the catalog's JSON too.
  const changes = db.listenForChanges(
    {
      changed: (table) => {
        generation.advance();
        if (CATALOG_TABLES.has(table)) fragments.forget();
      },
      lost: () => {
        generation.advance();
        fragments.forget();
      },
    },
    log,
  );
  const pages = new ResultPages(db, generation, changes, fragments, config.resultsCacheMs);
  const outcomes = new RunOutcomes(db, notifier, log);
  const leases = new RunLeases(db, outcomes, config.runLeaseSeconds, config.runMaxAttempts);
  leases.start((error) => log.warn(`sweeping expired run leases failed (tried again later): ${String(error)}`));
  const runLists = new RunLists(db, leases);
  const registry: ServiceRegistry = {
    benchmarks: new BenchmarksService(db, notifier, images),
    sites: new SitesService(db, notifier),
    flavors: new FlavorsService(db, notifier),
    tags: new TagsService(db),
    results: new ResultsService(
      db,
      pages,
      claims,
      validator,
      new GroupStatistics(db, generation, changes, config.resultsCacheMs),
      new ResultExports(db, changes, fragments),
    ),
    reports: new ReportsService(db, claims),
    users: new UsersService(db, notifier, pages, claims, runLists),
    runs: new RunsService(db, validator, leases, runLists, outcomes),
  };
  return {
    registry,
    onWrite: (operationId) => {
      if (!UNSEEN_BY_RESULT_PAGES.has(operationId)) generation.advance();
    },
    authorizers: {
      UpdateResult: ownerOrAdminOfResult(db, 'change its tags'),
      ListResultClaims: ownerOrAdminOfResult(db, 'read its claims'),
      CancelRun: requesterOrAdmin(db),
      TakeRun: runnerOfSite(db),
      HeartbeatRun: runnerOfRun(db),
      CompleteRun: runnerOfRun(db),
      FailRun: runnerOfRun(db),
    },
    observe: () => ({
      resultsCache: pages.stats,
      invalidations: generation.value,
      listening: changes.listening,
      validationQueue: validator.queued,
    }),
    close: async () => {
      leases.stop();
      await changes.close();
      await validator.close();
    },
  };
}
