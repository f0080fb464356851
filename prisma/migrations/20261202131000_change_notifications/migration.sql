-- Every instance of the service remembers result pages and counts. These
-- triggers tell every instance that a table a results page shows has changed,
-- whoever wrote it (another instance, a script, psql): PostgreSQL delivers a
-- NOTIFY when its transaction commits, and not at all when it rolls back.
-- The payload is the table's name (src/db/change-feed.ts listens).
-- One notification per statement, not per row: identical notifications of
-- one transaction are folded into one by PostgreSQL anyway.
CREATE FUNCTION "eosc_perf_notify_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('eosc_perf_changes', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER "results_notify_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "results"
  FOR EACH STATEMENT EXECUTE FUNCTION "eosc_perf_notify_change"();
CREATE TRIGGER "result_tags_notify_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "result_tags"
  FOR EACH STATEMENT EXECUTE FUNCTION "eosc_perf_notify_change"();
CREATE TRIGGER "claims_notify_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "claims"
  FOR EACH STATEMENT EXECUTE FUNCTION "eosc_perf_notify_change"();
CREATE TRIGGER "benchmarks_notify_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "benchmarks"
  FOR EACH STATEMENT EXECUTE FUNCTION "eosc_perf_notify_change"();
CREATE TRIGGER "sites_notify_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "sites"
  FOR EACH STATEMENT EXECUTE FUNCTION "eosc_perf_notify_change"();
CREATE TRIGGER "flavors_notify_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "flavors"
  FOR EACH STATEMENT EXECUTE FUNCTION "eosc_perf_notify_change"();
CREATE TRIGGER "tags_notify_change" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "tags"
  FOR EACH STATEMENT EXECUTE FUNCTION "eosc_perf_notify_change"();
