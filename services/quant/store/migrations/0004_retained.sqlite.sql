-- quant_platform schema v4 (embedded SQLite): the latest record per key of the in-process
-- bus's compacted topics (control.commands), so `quant up` keeps its control state (a
-- halted account, run-time subscriptions) across restarts as Kafka's compacted log does.
-- seq orders the records by their last write.

CREATE TABLE retained_records (
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (topic, key)
);
CREATE INDEX retained_records_seq_idx ON retained_records (seq);
