-- CreateTable
CREATE TABLE "result_counts" (
    "benchmark_id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "flavor_id" UUID NOT NULL,
    "slot" SMALLINT NOT NULL,
    "n" BIGINT NOT NULL,

    CONSTRAINT "result_counts_pkey" PRIMARY KEY ("benchmark_id","site_id","flavor_id","slot")
);

-- CreateIndex
CREATE INDEX "result_counts_site_id_idx" ON "result_counts"("site_id");

-- CreateIndex
CREATE INDEX "result_counts_flavor_id_idx" ON "result_counts"("flavor_id");

-- The triggers that keep result_counts equal to
--   SELECT benchmark_id, site_id, flavor_id, count(*) FROM results WHERE NOT deleted GROUP BY 1, 2, 3
-- (summed over slots) through every insert, update, delete and truncate,
-- whoever makes it. Statement-level, with the statement's rows as transition
-- tables: a batch of a thousand results is one upsert per group. Rows are
-- upserted in key order, so two statements that touch the same rows lock
-- them in the same order and cannot deadlock on them. A transition table is
-- seen only by its own trigger's function, hence one function per event.

CREATE FUNCTION "result_counts_after_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "result_counts" AS c ("benchmark_id", "site_id", "flavor_id", "slot", "n")
  SELECT d."benchmark_id", d."site_id", d."flavor_id", pg_backend_pid() % 16, sum(d."n")
  FROM (SELECT "benchmark_id", "site_id", "flavor_id", 1 AS "n" FROM "added" WHERE NOT "deleted") AS d
  GROUP BY 1, 2, 3
  HAVING sum(d."n") <> 0
  ORDER BY 1, 2, 3
  ON CONFLICT ("benchmark_id", "site_id", "flavor_id", "slot") DO UPDATE SET "n" = c."n" + excluded."n";
  RETURN NULL;
END
$$;

CREATE FUNCTION "result_counts_after_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "result_counts" AS c ("benchmark_id", "site_id", "flavor_id", "slot", "n")
  SELECT d."benchmark_id", d."site_id", d."flavor_id", pg_backend_pid() % 16, sum(d."n")
  FROM (SELECT "benchmark_id", "site_id", "flavor_id", -1 AS "n" FROM "removed" WHERE NOT "deleted") AS d
  GROUP BY 1, 2, 3
  HAVING sum(d."n") <> 0
  ORDER BY 1, 2, 3
  ON CONFLICT ("benchmark_id", "site_id", "flavor_id", "slot") DO UPDATE SET "n" = c."n" + excluded."n";
  RETURN NULL;
END
$$;

CREATE FUNCTION "result_counts_after_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "result_counts" AS c ("benchmark_id", "site_id", "flavor_id", "slot", "n")
  SELECT d."benchmark_id", d."site_id", d."flavor_id", pg_backend_pid() % 16, sum(d."n")
  FROM (SELECT "benchmark_id", "site_id", "flavor_id", 1 AS "n" FROM "added" WHERE NOT "deleted"
        UNION ALL SELECT "benchmark_id", "site_id", "flavor_id", -1 AS "n" FROM "removed" WHERE NOT "deleted") AS d
  GROUP BY 1, 2, 3
  HAVING sum(d."n") <> 0
  ORDER BY 1, 2, 3
  ON CONFLICT ("benchmark_id", "site_id", "flavor_id", "slot") DO UPDATE SET "n" = c."n" + excluded."n";
  RETURN NULL;
END
$$;

CREATE FUNCTION "result_counts_after_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "result_counts";
  RETURN NULL;
END
$$;

CREATE TRIGGER "results_count_insert" AFTER INSERT ON "results"
  REFERENCING NEW TABLE AS "added" FOR EACH STATEMENT EXECUTE FUNCTION "result_counts_after_insert"();
CREATE TRIGGER "results_count_delete" AFTER DELETE ON "results"
  REFERENCING OLD TABLE AS "removed" FOR EACH STATEMENT EXECUTE FUNCTION "result_counts_after_delete"();
CREATE TRIGGER "results_count_update" AFTER UPDATE ON "results"
  REFERENCING NEW TABLE AS "added" OLD TABLE AS "removed" FOR EACH STATEMENT EXECUTE FUNCTION "result_counts_after_update"();
CREATE TRIGGER "results_count_truncate" AFTER TRUNCATE ON "results"
  FOR EACH STATEMENT EXECUTE FUNCTION "result_counts_after_truncate"();

-- The results already stored. Creating the triggers locked the results table
-- against writes until this migration commits, so none is missed or counted twice.
INSERT INTO "result_counts" ("benchmark_id", "site_id", "flavor_id", "slot", "n")
SELECT "benchmark_id", "site_id", "flavor_id", 0, count(*) FROM "results" WHERE NOT "deleted" GROUP BY 1, 2, 3;
