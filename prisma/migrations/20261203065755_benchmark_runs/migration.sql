-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('queued', 'running', 'completed', 'failed', 'cancelled');

-- AlterTable
ALTER TABLE "benchmarks" ADD COLUMN     "parameters_schema" JSONB;

-- CreateTable
CREATE TABLE "runs" (
    "id" UUID NOT NULL,
    "benchmark_id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "flavor_id" UUID NOT NULL,
    "parameters" JSONB NOT NULL,
    "tags_ids" UUID[],
    "requester_sub" TEXT NOT NULL,
    "requester_iss" TEXT NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'queued',
    "submit_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT date_trunc('milliseconds'::text, now()),
    "start_datetime" TIMESTAMPTZ(6),
    "heartbeat_datetime" TIMESTAMPTZ(6),
    "finish_datetime" TIMESTAMPTZ(6),
    "lease_deadline" TIMESTAMPTZ(6),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "runner_sub" TEXT,
    "runner_iss" TEXT,
    "failure_reason" TEXT,
    "result_id" UUID,
    "log" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "site_runners" (
    "site_id" UUID NOT NULL,
    "sub" TEXT NOT NULL,
    "iss" TEXT NOT NULL,
    "designation_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT date_trunc('milliseconds'::text, now()),
    "last_poll_datetime" TIMESTAMPTZ(6),

    CONSTRAINT "site_runners_pkey" PRIMARY KEY ("site_id","sub","iss")
);

-- CreateIndex
CREATE UNIQUE INDEX "runs_result_id_key" ON "runs"("result_id");

-- CreateIndex
CREATE INDEX "runs_site_id_status_submit_datetime_id_idx" ON "runs"("site_id", "status", "submit_datetime", "id");

-- CreateIndex
CREATE INDEX "runs_status_lease_deadline_idx" ON "runs"("status", "lease_deadline");

-- CreateIndex
CREATE INDEX "runs_submit_datetime_idx" ON "runs"("submit_datetime");

-- CreateIndex
CREATE INDEX "runs_benchmark_id_idx" ON "runs"("benchmark_id");

-- CreateIndex
CREATE INDEX "runs_flavor_id_idx" ON "runs"("flavor_id");

-- CreateIndex
CREATE INDEX "runs_requester_sub_requester_iss_idx" ON "runs"("requester_sub", "requester_iss");

-- CreateIndex
CREATE INDEX "site_runners_sub_iss_idx" ON "site_runners"("sub", "iss");

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_benchmark_id_fkey" FOREIGN KEY ("benchmark_id") REFERENCES "benchmarks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_flavor_id_fkey" FOREIGN KEY ("flavor_id") REFERENCES "flavors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_requester_sub_requester_iss_fkey" FOREIGN KEY ("requester_sub", "requester_iss") REFERENCES "users"("sub", "iss") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_result_id_fkey" FOREIGN KEY ("result_id") REFERENCES "results"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "site_runners" ADD CONSTRAINT "site_runners_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "site_runners" ADD CONSTRAINT "site_runners_sub_iss_fkey" FOREIGN KEY ("sub", "iss") REFERENCES "users"("sub", "iss") ON DELETE CASCADE ON UPDATE CASCADE;
