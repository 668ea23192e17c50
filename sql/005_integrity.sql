-- 005: integrity checks (lib/integrity.c, `lb-admin check`, docs/ARCHITECTURE.md).
--
-- integrity_runs / integrity_findings come from 001; a run also records
-- whether it queued repairs, how it ended and what GitHub answered 304.

ALTER TABLE integrity_runs ADD COLUMN IF NOT EXISTS
  repair TINYINT(1) NOT NULL DEFAULT 0 COMMENT '1 when the run queued repair jobs';
ALTER TABLE integrity_runs ADD COLUMN IF NOT EXISTS
  status VARCHAR(16) NULL COMMENT 'running, ok, or partial (a check could not run: see error)';
ALTER TABLE integrity_runs ADD COLUMN IF NOT EXISTS
  error VARCHAR(1024) NULL COMMENT 'first error of a partial run';
ALTER TABLE integrity_runs ADD COLUMN IF NOT EXISTS
  not_modified INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'requests answered 304 (free on GitHub)';
ALTER TABLE integrity_runs ADD INDEX IF NOT EXISTS integrity_runs_finished (finished_at);

-- The freshness check's last page of "most recently updated PRs" per
-- repository: its ETag (sent as If-None-Match) and a summary of the items,
-- so that a 304 can still be compared with the database.
CREATE TABLE IF NOT EXISTS integrity_pages (
  repo        VARCHAR(201)  NOT NULL COMMENT 'owner/name as configured',
  etag        VARCHAR(255)  NULL,
  items       MEDIUMTEXT    NOT NULL COMMENT 'one line per PR: number, id, created, updated, merged ("-")',
  fetched_at  DATETIME(6)   NOT NULL,
  PRIMARY KEY (repo)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
  COMMENT='Freshness check: last page of recently updated PRs per repository';
