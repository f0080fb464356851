// A realistic EOSC Performance data set: sites and flavors of EGI-like
// providers, benchmarks with the kinds of schemas real ones carry (c-ray,
// CNN training throughput, I/O bandwidth), tags, and results that satisfy
// their benchmark's schema. Deterministic for a given seed number.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/client.js';
import type { Prisma } from '../../generated/prisma/client.js';

export const SEED_USER = { sub: 'seed', iss: 'https://seed.eosc-performance.invalid', email: 'seed@example.org' };

const SITES: [string, string][] = [
  ['CESNET-MCC', 'Brno, Czech Republic'],
  ['IFCA-LCG2', 'Santander, Spain'],
  ['INFN-CLOUD-BARI', 'Bari, Italy'],
  ['KIT-HPC', '76131 Karlsruhe, Germany'],
  ['CYFRONET-CLOUD', 'Kraków, Poland'],
  ['BIFI', 'Zaragoza, Spain'],
  ['GRNET-OKEANOS', 'Athens, Greece'],
  ['IISAS-FedCloud', 'Bratislava, Slovakia'],
  ['SCAI', 'Sankt Augustin, Germany'],
  ['UPV-GRyCAP', 'Valencia, Spain'],
];

const FLAVORS = ['m1.small', 'm1.large', 'hpc.8core-16ram', 'hpc.32core-64ram', 'gpu.v100'];
const TAGS: [string, string][] = [
  ['cpu', 'Result measures CPU performance'],
  ['gpu', 'Result executed using gpu'],
  ['hpc', 'Result executed in hpc system'],
  ['io', 'Result measures storage input/output'],
  ['ml', 'Machine learning workload'],
  ['network', 'Result measures networking'],
  ['storage', 'Result measures storage capacity'],
];

type Kind = 'c-ray' | 'cnn' | 'io';

const CPU_SCHEMA = {
  type: 'object',
  properties: {
    count: { type: 'number', description: 'Processor core count', suggestToUser: true },
    arch: { type: 'string', description: 'Processor architecture', suggestToUser: true },
    brand_raw: { type: 'string', description: 'Human-readable processor branding' },
  },
  required: ['count'],
};

const SCHEMAS: Record<Kind, Record<string, unknown>> = {
  'c-ray': {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      arguments: { const: 'Total Time - 4K, 16 Rays Per Pixel' },
      machine: { type: 'object', properties: { cpu: CPU_SCHEMA }, required: ['cpu'] },
      result: {
        type: 'object',
        properties: { score: { type: 'number' }, all_results: { type: 'string' } },
        required: ['score'],
      },
      test: { type: 'string' },
      units: { const: 'Seconds' },
    },
    required: ['arguments', 'machine', 'result', 'test', 'units'],
  },
  cnn: {
    $schema: 'https://json-schema.org/draft/2019-09/schema',
    type: 'object',
    properties: {
      model: { enum: ['resnet50', 'vgg16', 'googlenet'] },
      batch_size: { type: 'integer', minimum: 1 },
      machine: {
        type: 'object',
        properties: {
          cpu: CPU_SCHEMA,
          gpu: { type: 'object', properties: { count: { type: 'integer' }, model: { type: 'string' } } },
        },
      },
      result: {
        type: 'object',
        properties: {
          training: {
            type: 'object',
            properties: { throughput: { type: 'number', description: 'images/s' }, time: { type: 'number' } },
            required: ['throughput'],
          },
        },
        required: ['training'],
      },
    },
    required: ['model', 'batch_size', 'machine', 'result'],
  },
  io: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      block_size: { type: 'string' },
      machine: { type: 'object', properties: { disk: { type: 'object', properties: { type: { enum: ['ssd', 'hdd', 'nvme'] } } } } },
      result: {
        type: 'object',
        properties: {
          read_bandwidth: { type: 'number', description: 'MiB/s' },
          write_bandwidth: { type: 'number', description: 'MiB/s' },
          iops: { type: 'integer' },
        },
        required: ['read_bandwidth', 'write_bandwidth'],
      },
    },
    required: ['machine', 'result'],
  },
};

const BENCHMARKS: [string, string, Kind, string][] = [
  ['thechristophe/openbench-c-ray', 'latest', 'c-ray', 'Compare cpu perf with multithreaded raytracing'],
  ['thechristophe/openbench-c-ray', '1.2.0', 'c-ray', 'c-ray 1.2.0, 4K, 16 rays per pixel'],
  ['thechristophe/openbench-c-ray', '1.1.0', 'c-ray', 'c-ray 1.1.0'],
  ['phoronix/pts-c-ray', 'stable', 'c-ray', 'Phoronix test suite c-ray'],
  ['deephdc/deep-oc-benchmarks_cnn', 'gpu', 'cnn', 'CNN training throughput on GPUs (TensorFlow)'],
  ['deephdc/deep-oc-benchmarks_cnn', 'cpu', 'cnn', 'CNN training throughput on CPUs (TensorFlow)'],
  ['deephdc/deep-oc-benchmarks_cnn', 'benchmark', 'cnn', 'CNN benchmark suite'],
  ['deephdc/deep-oc-benchmarks_cnn', '1.0.2-gpu', 'cnn', 'CNN benchmark 1.0.2 on GPUs'],
  ['pytorch/benchmark-resnet', 'latest', 'cnn', 'ResNet training in PyTorch'],
  ['pytorch/benchmark-resnet', '2.1', 'cnn', 'ResNet training in PyTorch 2.1'],
  ['nvidia/mlperf-training', 'v3.0', 'cnn', 'MLPerf training, reduced'],
  ['nvidia/mlperf-training', 'v2.1', 'cnn', 'MLPerf training v2.1, reduced'],
  ['ljishen/fio', 'latest', 'io', 'Flexible I/O tester: sequential bandwidth'],
  ['ljishen/fio', '3.33', 'io', 'fio 3.33: random 4k'],
  ['iozone/iozone', 'latest', 'io', 'IOzone filesystem benchmark'],
  ['iozone/iozone', '3.506', 'io', 'IOzone 3.506'],
  ['eosc/dd-bandwidth', '1.0', 'io', 'dd read/write bandwidth'],
  ['eosc/dd-bandwidth', '2.0', 'io', 'dd read/write bandwidth, direct I/O'],
  ['openbenchmarking/ior', 'latest', 'io', 'IOR parallel I/O'],
  ['openbenchmarking/ior', '3.3', 'io', 'IOR 3.3 parallel I/O'],
];

/** A small deterministic PRNG (mulberry32), so a seed number gives the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const BRANDS = ['Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', 'AMD EPYC 7742 64-Core Processor', 'Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz'];

function resultJson(kind: Kind, rnd: () => number): Record<string, unknown> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const cpu = { count: pick([1, 2, 4, 8, 16, 32, 64]), arch: pick(['X86_64', 'X86_64', 'ARM_8']), brand_raw: pick(BRANDS) };
  const round = (value: number) => Math.round(value * 1000) / 1000;
  switch (kind) {
    case 'c-ray': {
      const score = round(20 + (rnd() * 300) / Math.sqrt(cpu.count));
      return {
        arguments: 'Total Time - 4K, 16 Rays Per Pixel',
        machine: { cpu },
        result: { score, all_results: [score, round(score * 1.01), round(score * 0.99)].join(':') },
        test: 'pts/c-ray-1.2.0',
        units: 'Seconds',
      };
    }
    case 'cnn':
      return {
        model: pick(['resnet50', 'vgg16', 'googlenet']),
        batch_size: pick([16, 32, 64, 128]),
        machine: { cpu, gpu: { count: pick([0, 1, 2, 4]), model: pick(['Tesla V100', 'A100', 'T4']) } },
        result: { training: { throughput: round(50 + rnd() * 2000), time: round(100 + rnd() * 3600) } },
      };
    case 'io':
      return {
        block_size: pick(['4k', '64k', '1m']),
        machine: { cpu, disk: { type: pick(['ssd', 'hdd', 'nvme']) } },
        result: { read_bandwidth: round(50 + rnd() * 3000), write_bandwidth: round(30 + rnd() * 2000), iops: Math.floor(rnd() * 500000) },
      };
  }
}

export interface Catalog {
  benchmarks: { id: string; kind: Kind }[];
  flavors: { id: string; site_id: string }[];
  tags: string[];
}

/** Sites, flavors, benchmarks and tags, all approved; idempotent (upserts on their unique names). */
export async function seedCatalog(db: Database): Promise<Catalog> {
  const prisma = db.prisma;
  const uploader = { uploader_sub: SEED_USER.sub, uploader_iss: SEED_USER.iss };
  await prisma.user.upsert({ where: { sub_iss: { sub: SEED_USER.sub, iss: SEED_USER.iss } }, create: SEED_USER, update: {} });
  const flavors: Catalog['flavors'] = [];
  for (const [name, address] of SITES) {
    const site = await prisma.site.upsert({
      where: { name },
      create: { name, address, description: `${name} cloud site`, status: 'approved', ...uploader },
      update: {},
    });
    for (const flavor of FLAVORS) {
      const row = await prisma.flavor.upsert({
        where: { site_id_name: { site_id: site.id, name: flavor } },
        create: { site_id: site.id, name: flavor, description: `${flavor} at ${name}`, status: 'approved', ...uploader },
        update: {},
      });
      flavors.push({ id: row.id, site_id: site.id });
    }
  }
  const benchmarks: Catalog['benchmarks'] = [];
  for (const [image, tag, kind, description] of BENCHMARKS) {
    const row = await prisma.benchmark.upsert({
      where: { docker_image_docker_tag: { docker_image: image, docker_tag: tag } },
      create: {
        docker_image: image,
        docker_tag: tag,
        json_schema: SCHEMAS[kind] as Prisma.InputJsonObject,
        description,
        url: `https://hub.docker.com/r/${image}`,
        status: 'approved',
        ...uploader,
      },
      update: {},
    });
    benchmarks.push({ id: row.id, kind });
  }
  const tags: string[] = [];
  for (const [name, description] of TAGS) {
    tags.push((await prisma.tag.upsert({ where: { name }, create: { name, description }, update: {} })).id);
  }
  return { benchmarks, flavors, tags };
}

/** Adds `count` results in batches; `progress(done)` after each batch. */
export async function seedResults(
  db: Database,
  catalog: Catalog,
  count: number,
  progress: (done: number) => void = () => {},
  seed = 1,
): Promise<void> {
  const rnd = random(seed);
  const batchSize = 2000;
  const start = Date.UTC(2021, 0, 1);
  const span = Date.UTC(2026, 0, 1) - start;
  for (let done = 0; done < count; ) {
    const size = Math.min(batchSize, count - done);
    const results: Prisma.ResultCreateManyInput[] = [];
    const links: Prisma.ResultTagCreateManyInput[] = [];
    for (let i = 0; i < size; i++) {
      const benchmark = catalog.benchmarks[Math.floor(rnd() * catalog.benchmarks.length)]!;
      const flavor = catalog.flavors[Math.floor(rnd() * catalog.flavors.length)]!;
      const id = randomUUID();
      results.push({
        id,
        json: resultJson(benchmark.kind, rnd) as Prisma.InputJsonObject,
        execution_datetime: new Date(start + Math.floor(rnd() * span)),
        benchmark_id: benchmark.id,
        flavor_id: flavor.id,
        site_id: flavor.site_id,
        uploader_sub: SEED_USER.sub,
        uploader_iss: SEED_USER.iss,
      });
      const tagCount = Math.floor(rnd() * 3);
      const chosen = new Set<string>();
      for (let t = 0; t < tagCount; t++) chosen.add(catalog.tags[Math.floor(rnd() * catalog.tags.length)]!);
      for (const tag_id of chosen) links.push({ result_id: id, tag_id });
    }
    // One statement per batch: the batch and its tags land together or not at
    // all, with no wall-clock limit a busy machine can miss; and the rows go
    // to the database as one JSON text, not through Prisma's per-value serialisation.
    await db.prisma.$executeRaw`
      WITH batch AS (
        INSERT INTO results (id, upload_datetime, json, execution_datetime, benchmark_id, flavor_id, site_id, uploader_sub, uploader_iss)
        SELECT id, date_trunc('milliseconds', now()), json, execution_datetime, benchmark_id, flavor_id, site_id, uploader_sub, uploader_iss
        FROM jsonb_to_recordset(${JSON.stringify(results)}::jsonb) AS row (
          id uuid, json jsonb, execution_datetime timestamptz, benchmark_id uuid, flavor_id uuid, site_id uuid,
          uploader_sub text, uploader_iss text)
      )
      INSERT INTO result_tags (result_id, tag_id)
      SELECT result_id, tag_id FROM jsonb_to_recordset(${JSON.stringify(links)}::jsonb) AS link (result_id uuid, tag_id uuid)`;
    done += size;
    progress(done);
  }
}
