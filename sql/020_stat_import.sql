-- 020: a large import reaches the statistics in one rebuild (docs/STATS.md
-- "Large imports", lib/sync.c).
--
-- A full walk of a repository with more PRs ahead of it than [sync]
-- import_prs (default 20,000) records the PRs it stores here instead of in
-- stat_queue, in the page's transaction: the rollups are not folded page by
-- page (about 19 counter rows per PR) but rebuilt once with set-based SQL
-- when the walk ends (rollup_check, forced): at a million PRs about two
-- minutes, where the fold page by page took 27. Until then these PRs are stored but
-- not counted. Every rebuild counts them and deletes the rows it saw (a
-- row stored again meanwhile has a larger n and stays for the next one).
-- lb-syncd rebuilds for rows left by a walk that stopped (none newer than
-- 10 minutes). A PR that changes meanwhile is queued in stat_queue as usual.
CREATE TABLE IF NOT EXISTS stat_import (
  pr_id  BIGINT UNSIGNED NOT NULL COMMENT 'pull_requests.id stored by an import, not yet counted',
  n      INT UNSIGNED    NOT NULL DEFAULT 1 COMMENT 'times stored since recorded here',
  at     DATETIME(6)     NOT NULL COMMENT 'last stored (UTC)',
  PRIMARY KEY (pr_id),
  KEY stat_import_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
  COMMENT='PRs of a large import waiting for the rebuild that ends it (lib/sync.c, lib/rollup.c)';
