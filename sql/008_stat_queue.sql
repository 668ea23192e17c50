-- 008: statistics off the ingestion path (lib/rollup.h rollup_queue/rollup_fold).
--
-- A stored PR change (webhook, spool, replay or sync) commits its PR row and
-- a row here in the same transaction; the statistics rollups (stat_*) are
-- brought up to date from the live tables by rollup_fold(): lb-syncd after
-- every iteration and job (about every 2 s), and lb-api before it answers a
-- statistics request, so an answer always includes every committed change.
-- A PR queued twice is folded once. Membership changes and repository
-- tracking changes still re-roll their PRs in their own transaction.
CREATE TABLE IF NOT EXISTS stat_queue (
  pr_id      BIGINT UNSIGNED NOT NULL COMMENT 'pull_requests.id whose statistics may be out of date',
  queued_at  TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'first queued (UTC)',
  PRIMARY KEY (pr_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
  COMMENT='PRs changed since their statistics were last rolled up (lib/rollup.c rollup_fold)';
