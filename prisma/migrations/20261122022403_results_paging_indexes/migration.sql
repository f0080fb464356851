-- DropIndex
DROP INDEX "results_deleted_execution_datetime_idx";

-- CreateIndex
CREATE INDEX "results_deleted_execution_datetime_id_idx" ON "results"("deleted", "execution_datetime", "id");

-- CreateIndex
CREATE INDEX "results_deleted_upload_datetime_id_idx" ON "results"("deleted", "upload_datetime", "id");
