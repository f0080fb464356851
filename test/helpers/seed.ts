// Rows stored directly with Prisma, for cases that need a state the API would
// take many calls to reach (long lists, set upload dates, cascades). A site,
// flavor or benchmark on review gets its submit, as the API's do.
import type { Prisma } from '../../generated/prisma/client.js';
import type { Persona, TestContext } from './app.js';
import type { ReviewStatus } from './contract.js';
import { unique } from './fixtures.js';

interface Seeded {
  status?: ReviewStatus;
  upload_datetime?: Date;
  /** The uploader, the seeder's owner by default. */
  owner?: Persona;
}

/** Stores rows uploaded by `owner` (a registered persona) unless told otherwise. */
export function seeder(ctx: TestContext, owner: Persona) {
  const prisma = ctx.db.prisma;

  /** The uploader columns of a row uploaded by `who`. */
  const uploader = (who: Persona = owner) => ({ uploader_sub: who.sub, uploader_iss: ctx.oidc.issuer });

  /** Status (approved by default), upload date, uploader, and a submit when on review. */
  function common(data: Seeded, type: 'benchmark' | 'site' | 'flavor') {
    const status = data.status ?? 'approved';
    return {
      status,
      ...(data.upload_datetime ? { upload_datetime: data.upload_datetime } : {}),
      ...uploader(data.owner),
      ...(status === 'on_review' ? { submit: { create: { resource_type: type } } } : {}),
    };
  }

  function site(data: Seeded & { name?: string; address?: string; description?: string } = {}) {
    return prisma.site.create({
      data: {
        name: data.name ?? unique('site'),
        address: data.address ?? 'somewhere',
        description: data.description ?? '',
        ...common(data, 'site'),
      },
    });
  }

  function flavor(siteId: string, data: Seeded & { name?: string; description?: string } = {}) {
    return prisma.flavor.create({
      data: {
        site_id: siteId,
        name: data.name ?? unique('flavor'),
        description: data.description ?? '',
        ...common(data, 'flavor'),
      },
    });
  }

  function benchmark(data: Seeded & { docker_image?: string; docker_tag?: string } = {}) {
    return prisma.benchmark.create({
      data: {
        docker_image: data.docker_image ?? unique('image'),
        docker_tag: data.docker_tag ?? 'latest',
        json_schema: {},
        ...common(data, 'benchmark'),
      },
    });
  }

  /** A result of `benchmarkId` on `flavor` (and its site), executed 2022-01-01T00:00:00Z unless told, with `tags` attached. */
  function result(
    benchmarkId: string,
    flavor: { id: string; site_id: string },
    data: { json?: Prisma.InputJsonObject; execution_datetime?: Date; tags?: string[]; owner?: Persona } = {},
  ) {
    return prisma.result.create({
      data: {
        json: data.json ?? {},
        execution_datetime: data.execution_datetime ?? new Date('2022-01-01T00:00:00Z'),
        benchmark_id: benchmarkId,
        site_id: flavor.site_id,
        flavor_id: flavor.id,
        ...uploader(data.owner),
        ...(data.tags ? { tags: { create: data.tags.map((tag_id) => ({ tag_id })) } } : {}),
      },
    });
  }

  return { uploader, site, flavor, benchmark, result };
}
