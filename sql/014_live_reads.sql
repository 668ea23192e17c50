-- 014: reads that stay fast while writes arrive (docs/STATS.md "Answer
-- cache", "Ranges").
--
-- Day grain: stat_counts, stat_labels, stat_authors and stat_repos also
-- hold grain 'D' rows (bucket = the day), kept by the fold and the rebuild
-- like the other grains, so a period=range answer sums whole years,
-- quarters, months and the days at its edges instead of scanning PRs. No
-- column changes: grain is CHAR(1). The rollups are rebuilt on the next
-- statistics request (the fingerprint below no longer matches the config).
UPDATE stat_state SET config_fp = 'migration-014' WHERE id = 1 AND built_at IS NOT NULL;

-- One version per day: every roll that changes a number, and every
-- folded PR change, adds 1 to the days of the PR's events (created,
-- merged, rejected; before and after the change). An answer's cache key
-- holds SUM(v) over the days it reads (lb-api), so a write invalidates
-- only the answers of the periods it touches.
CREATE TABLE IF NOT EXISTS stat_day_version (
  day  DATE            NOT NULL,
  v    BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Per-day data version of the rollups for API caches (lib/rollup.c rollup_bump_*)';
