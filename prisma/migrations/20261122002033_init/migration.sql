-- CreateEnum
CREATE TYPE "ItemStatus" AS ENUM ('on_review', 'approved');

-- CreateEnum
CREATE TYPE "ResourceType" AS ENUM ('benchmark', 'claim', 'flavor', 'site');

-- CreateTable
CREATE TABLE "users" (
    "sub" TEXT NOT NULL,
    "iss" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "registration_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("sub","iss")
);

-- CreateTable
CREATE TABLE "benchmarks" (
    "id" UUID NOT NULL,
    "docker_image" TEXT NOT NULL,
    "docker_tag" TEXT NOT NULL,
    "url" TEXT,
    "json_schema" JSONB NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "status" "ItemStatus" NOT NULL DEFAULT 'on_review',
    "upload_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uploader_sub" TEXT NOT NULL,
    "uploader_iss" TEXT NOT NULL,

    CONSTRAINT "benchmarks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sites" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "status" "ItemStatus" NOT NULL DEFAULT 'on_review',
    "upload_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uploader_sub" TEXT NOT NULL,
    "uploader_iss" TEXT NOT NULL,

    CONSTRAINT "sites_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "flavors" (
    "id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "status" "ItemStatus" NOT NULL DEFAULT 'on_review',
    "upload_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uploader_sub" TEXT NOT NULL,
    "uploader_iss" TEXT NOT NULL,

    CONSTRAINT "flavors_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tags" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "tags_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "results" (
    "id" UUID NOT NULL,
    "json" JSONB NOT NULL,
    "execution_datetime" TIMESTAMPTZ(6) NOT NULL,
    "upload_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "benchmark_id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "flavor_id" UUID NOT NULL,
    "uploader_sub" TEXT NOT NULL,
    "uploader_iss" TEXT NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "results_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "result_tags" (
    "result_id" UUID NOT NULL,
    "tag_id" UUID NOT NULL,

    CONSTRAINT "result_tags_pkey" PRIMARY KEY ("result_id","tag_id")
);

-- CreateTable
CREATE TABLE "claims" (
    "id" UUID NOT NULL,
    "message" TEXT NOT NULL,
    "result_id" UUID NOT NULL,
    "status" "ItemStatus" NOT NULL DEFAULT 'on_review',
    "upload_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uploader_sub" TEXT NOT NULL,
    "uploader_iss" TEXT NOT NULL,

    CONSTRAINT "claims_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "submits" (
    "id" UUID NOT NULL,
    "resource_type" "ResourceType" NOT NULL,
    "upload_datetime" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "benchmark_id" UUID,
    "site_id" UUID,
    "flavor_id" UUID,
    "claim_id" UUID,

    CONSTRAINT "submits_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "users_email_idx" ON "users"("email");

-- CreateIndex
CREATE INDEX "benchmarks_status_docker_image_idx" ON "benchmarks"("status", "docker_image");

-- CreateIndex
CREATE INDEX "benchmarks_uploader_sub_uploader_iss_idx" ON "benchmarks"("uploader_sub", "uploader_iss");

-- CreateIndex
CREATE UNIQUE INDEX "benchmarks_docker_image_docker_tag_key" ON "benchmarks"("docker_image", "docker_tag");

-- CreateIndex
CREATE UNIQUE INDEX "sites_name_key" ON "sites"("name");

-- CreateIndex
CREATE INDEX "sites_status_name_idx" ON "sites"("status", "name");

-- CreateIndex
CREATE INDEX "sites_uploader_sub_uploader_iss_idx" ON "sites"("uploader_sub", "uploader_iss");

-- CreateIndex
CREATE INDEX "flavors_uploader_sub_uploader_iss_idx" ON "flavors"("uploader_sub", "uploader_iss");

-- CreateIndex
CREATE UNIQUE INDEX "flavors_site_id_name_key" ON "flavors"("site_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "tags_name_key" ON "tags"("name");

-- CreateIndex
CREATE INDEX "results_deleted_execution_datetime_idx" ON "results"("deleted", "execution_datetime");

-- CreateIndex
CREATE INDEX "results_benchmark_id_execution_datetime_idx" ON "results"("benchmark_id", "execution_datetime");

-- CreateIndex
CREATE INDEX "results_site_id_idx" ON "results"("site_id");

-- CreateIndex
CREATE INDEX "results_flavor_id_idx" ON "results"("flavor_id");

-- CreateIndex
CREATE INDEX "results_uploader_sub_uploader_iss_idx" ON "results"("uploader_sub", "uploader_iss");

-- CreateIndex
CREATE INDEX "result_tags_tag_id_idx" ON "result_tags"("tag_id");

-- CreateIndex
CREATE INDEX "claims_result_id_idx" ON "claims"("result_id");

-- CreateIndex
CREATE INDEX "claims_uploader_sub_uploader_iss_idx" ON "claims"("uploader_sub", "uploader_iss");

-- CreateIndex
CREATE UNIQUE INDEX "submits_benchmark_id_key" ON "submits"("benchmark_id");

-- CreateIndex
CREATE UNIQUE INDEX "submits_site_id_key" ON "submits"("site_id");

-- CreateIndex
CREATE UNIQUE INDEX "submits_flavor_id_key" ON "submits"("flavor_id");

-- CreateIndex
CREATE UNIQUE INDEX "submits_claim_id_key" ON "submits"("claim_id");

-- CreateIndex
CREATE INDEX "submits_resource_type_upload_datetime_idx" ON "submits"("resource_type", "upload_datetime");

-- AddForeignKey
ALTER TABLE "benchmarks" ADD CONSTRAINT "benchmarks_uploader_sub_uploader_iss_fkey" FOREIGN KEY ("uploader_sub", "uploader_iss") REFERENCES "users"("sub", "iss") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sites" ADD CONSTRAINT "sites_uploader_sub_uploader_iss_fkey" FOREIGN KEY ("uploader_sub", "uploader_iss") REFERENCES "users"("sub", "iss") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "flavors" ADD CONSTRAINT "flavors_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "flavors" ADD CONSTRAINT "flavors_uploader_sub_uploader_iss_fkey" FOREIGN KEY ("uploader_sub", "uploader_iss") REFERENCES "users"("sub", "iss") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "results" ADD CONSTRAINT "results_benchmark_id_fkey" FOREIGN KEY ("benchmark_id") REFERENCES "benchmarks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "results" ADD CONSTRAINT "results_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "results" ADD CONSTRAINT "results_flavor_id_fkey" FOREIGN KEY ("flavor_id") REFERENCES "flavors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "results" ADD CONSTRAINT "results_uploader_sub_uploader_iss_fkey" FOREIGN KEY ("uploader_sub", "uploader_iss") REFERENCES "users"("sub", "iss") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "result_tags" ADD CONSTRAINT "result_tags_result_id_fkey" FOREIGN KEY ("result_id") REFERENCES "results"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "result_tags" ADD CONSTRAINT "result_tags_tag_id_fkey" FOREIGN KEY ("tag_id") REFERENCES "tags"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "claims" ADD CONSTRAINT "claims_result_id_fkey" FOREIGN KEY ("result_id") REFERENCES "results"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "claims" ADD CONSTRAINT "claims_uploader_sub_uploader_iss_fkey" FOREIGN KEY ("uploader_sub", "uploader_iss") REFERENCES "users"("sub", "iss") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "submits" ADD CONSTRAINT "submits_benchmark_id_fkey" FOREIGN KEY ("benchmark_id") REFERENCES "benchmarks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "submits" ADD CONSTRAINT "submits_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "submits" ADD CONSTRAINT "submits_flavor_id_fkey" FOREIGN KEY ("flavor_id") REFERENCES "flavors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "submits" ADD CONSTRAINT "submits_claim_id_fkey" FOREIGN KEY ("claim_id") REFERENCES "claims"("id") ON DELETE CASCADE ON UPDATE CASCADE;
