-- quant_platform schema v4 (PostgreSQL): nothing. The embedded SQLite schema v4 keeps the
-- in-process bus's compacted topics for `quant up`; with PostgreSQL the bus is Kafka, whose
-- compacted log keeps them. This file keeps the versions of both dialects in step.

SELECT 1;
