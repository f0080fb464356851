// openapi.yaml is the contract: these checks keep it whole (every operation of
// the EOSC Performance API, with its operationId and role) and keep generated/
// in step with it and with prisma/schema.prisma.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { generate, ROOT } from '../scripts/generate.js';
import { fastifyPath, methodName } from '../src/http/operations.js';
import { indexOperations, loadSpec } from '../src/http/spec.js';
import { ERROR_STATUS } from '../src/errors.js';

// method, path, operationId, role — from the reference implementation (1.2.3).
const REFERENCE = `
GET /benchmarks ListBenchmarks public
POST /benchmarks CreateBenchmark user
GET /benchmarks:search SearchBenchmarks public
GET /benchmarks/{benchmark_id} GetBenchmark public
PUT /benchmarks/{benchmark_id} UpdateBenchmark admin
DELETE /benchmarks/{benchmark_id} DeleteBenchmark admin
POST /benchmarks/{benchmark_id}:approve ApproveBenchmark admin
POST /benchmarks/{benchmark_id}:reject RejectBenchmark admin
GET /flavors/{flavor_id} GetFlavor public
PUT /flavors/{flavor_id} UpdateFlavor admin
DELETE /flavors/{flavor_id} DeleteFlavor admin
POST /flavors/{flavor_id}:approve ApproveFlavor admin
POST /flavors/{flavor_id}:reject RejectFlavor admin
GET /flavors/{flavor_id}/site GetFlavorSite public
GET /reports/submits ListSubmits admin
GET /reports/claims ListClaims admin
GET /reports/claims/{report_id} GetClaim admin
POST /reports/claims/{report_id}:approve ApproveClaim admin
POST /reports/claims/{report_id}:reject RejectClaim admin
GET /results ListResults public
POST /results CreateResult user
GET /results:search SearchResults public
GET /results/{result_id} GetResult public
DELETE /results/{result_id} DeleteResult admin
POST /results/{result_id}:claim ClaimReport user
PUT /results/{result_id}/tags UpdateResult user
GET /results/{result_id}/claims ListResultClaims user
GET /results/{result_id}/uploader ResultUploader admin
GET /sites ListSites public
POST /sites CreateSite user
GET /sites:search SearchSites public
GET /sites/{site_id} GetSite public
PUT /sites/{site_id} UpdateSite admin
DELETE /sites/{site_id} DeleteSite admin
POST /sites/{site_id}:approve ApproveSite admin
POST /sites/{site_id}:reject RejectSite admin
GET /sites/{site_id}/flavors ListFlavors public
POST /sites/{site_id}/flavors AddFlavor user
GET /sites/{site_id}/flavors:search SearchFlavor public
GET /tags ListTags public
POST /tags CreateTag user
GET /tags:search SearchTag public
GET /tags/{tag_id} GetTag public
PUT /tags/{tag_id} UpdateTag admin
DELETE /tags/{tag_id} DeleteTag admin
GET /users ListUsers admin
POST /users:register RegisterSelf token
POST /users:remove RemoveUsers admin
GET /users:search SearchUsers admin
GET /users/self GetSelf token
POST /users/self:update UpdateSelf user
GET /users/self:try_admin TryAdmin admin
GET /users/self/results ListUserResults user
GET /users/self/claims ListUserClaims user
`
  .trim()
  .split('\n')
  .map((line) => line.split(' ') as [string, string, string, string]);

// Operations beyond the reference, in the same form.
const BEYOND = `
GET /results:stats ResultStatistics public
GET /results:export ExportResults public
GET /runs ListRuns public
POST /runs CreateRun user
GET /runs/{run_id} GetRun public
POST /runs/{run_id}:cancel CancelRun user
POST /runs/{run_id}:heartbeat HeartbeatRun user
POST /runs/{run_id}:complete CompleteRun user
POST /runs/{run_id}:fail FailRun user
GET /runs/{run_id}/log GetRunLog public
GET /sites/{site_id}/runners ListSiteRunners admin
PUT /sites/{site_id}/runners UpdateSiteRunners admin
DELETE /sites/{site_id}/runners DeleteSiteRunners admin
GET /sites/{site_id}/runs:queue GetRunQueue public
POST /sites/{site_id}/runs:take TakeRun user
GET /users/self/runs ListUserRuns user
`
  .trim()
  .split('\n')
  .map((line) => line.split(' ') as [string, string, string, string]);

const spec = loadSpec();

t.test('the spec has every operation of the reference and those beyond it, with operationId and role', async (t) => {
  const beyondPaths = new Set(BEYOND.map(([, path]) => path)).size;
  t.equal(Object.keys(spec.paths).length, 40 + beyondPaths, '40 paths of the reference, and those beyond');
  const operations = indexOperations(spec);
  t.equal(operations.size, 54 + BEYOND.length, '54 operations of the reference, and those beyond');
  for (const [method, path, operationId, role] of [...REFERENCE, ...BEYOND]) {
    const info = operations.get(operationId);
    t.match(info, { method, path }, operationId);
    const operation = spec.paths[path]?.[method.toLowerCase()];
    if (role === 'public') {
      t.equal(operation?.security, undefined, `${operationId} is public`);
    } else {
      // Never `[{bearerAuth: [...]}, {}]`: an empty requirement would let a bad token through as anonymous.
      t.same(operation?.security, [{ bearerAuth: [role] }], `${operationId} needs ${role}`);
    }
  }
});

t.test('every operation has a tag of the service registry and a 2xx answer', async (t) => {
  const tags = new Set(['benchmarks', 'sites', 'flavors', 'tags', 'results', 'reports', 'users', 'runs']);
  for (const info of indexOperations(spec).values()) {
    t.ok(tags.has(info.tag), `${info.operationId} tag ${info.tag}`);
    t.ok([200, 201, 204].includes(info.successStatus), `${info.operationId} answers ${info.successStatus}`);
  }
});

t.test('the spec lists every error_code the service answers, with its status', async (t) => {
  const schemas = spec.components as { schemas: Record<string, { enum?: string[]; description?: string }> };
  const listed = schemas.schemas.ErrorCode;
  t.same([...(listed?.enum ?? [])].sort(), Object.keys(ERROR_STATUS).sort(), 'ErrorCode enum = errors.ts ERROR_STATUS');
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    t.match(listed?.description, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `${code} documented as ${status}`);
  }
});

t.test('custom-method paths become routes without colon parameters', async (t) => {
  t.equal(fastifyPath('/benchmarks:search'), '/benchmarks::search');
  t.equal(fastifyPath('/benchmarks/{benchmark_id}:approve'), '/benchmarks/:benchmark_id([^:/]+)::approve');
  t.equal(fastifyPath('/sites/{site_id}/flavors'), '/sites/:site_id([^:/]+)/flavors');
  t.equal(methodName('ListResults'), 'listResults');
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full).map((file) => path.join(name, file)) : [name];
  });
}

t.test('generated/ is up to date with openapi.yaml and prisma/schema.prisma', async (t) => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'eosc-generated-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  generate(scratch);
  const expected = path.join(scratch, 'generated');
  const actual = path.join(ROOT, 'generated');
  const files = listFiles(expected).sort();
  t.same(listFiles(actual).sort(), files, 'the same files');
  for (const file of files) {
    const fresh = readFileSync(path.join(expected, file), 'utf8');
    const committed = readFileSync(path.join(actual, file), 'utf8');
    t.ok(fresh === committed, `${file} is current (run npm run generate)`);
  }
});
