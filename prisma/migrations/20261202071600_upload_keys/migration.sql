-- CreateTable
CREATE TABLE "upload_keys" (
    "uploader_sub" TEXT NOT NULL,
    "uploader_iss" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "result_id" UUID NOT NULL,

    CONSTRAINT "upload_keys_pkey" PRIMARY KEY ("uploader_sub","uploader_iss","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "upload_keys_result_id_key" ON "upload_keys"("result_id");

-- AddForeignKey
ALTER TABLE "upload_keys" ADD CONSTRAINT "upload_keys_result_id_fkey" FOREIGN KEY ("result_id") REFERENCES "results"("id") ON DELETE CASCADE ON UPDATE CASCADE;
