-- 021: a rebuild of the statistics that fails is not tried again at once
-- (lib/rollup.c rollup_check).
--
-- Every lb-api worker checks every 2 seconds whether the rollups must be
-- rebuilt, and lb-syncd after every pass: a rebuild that fails (a full
-- disk, a lock held by hand, a bug) was started again by the next of them,
-- minutes of load each time at a million PRs. A failure is now recorded
-- on stat_state row 1 and the next attempt, by any process on any host,
-- waits 30 s, then twice as long after each further failure, at most an
-- hour. A rebuild that succeeds clears the three columns. To try again at
-- once: UPDATE stat_state SET rebuild_retry_at = NULL WHERE id = 1.
ALTER TABLE stat_state
  ADD COLUMN IF NOT EXISTS rebuild_failures INT UNSIGNED NOT NULL DEFAULT 0
    COMMENT 'rebuilds that failed in a row since the last one that succeeded',
  ADD COLUMN IF NOT EXISTS rebuild_error VARCHAR(512) NULL
    COMMENT 'why the last failed rebuild failed',
  ADD COLUMN IF NOT EXISTS rebuild_retry_at DATETIME(6) NULL
    COMMENT 'UTC; no rebuild is started before this (after a failure)';
