-- 012: every number explains itself (/api/prs, /api/prs/{owner}/{repo}/{number},
-- /api/admin/changes; docs/STATS.md "The PRs behind a number").
--
-- stat_pr_scope carries the PR's event times, so the PRs behind one counter
-- (a team's PRs merged in 2024, newest first, one page) are one ordered
-- range read of an index, whatever the team's all-time size. lib/rollup
-- writes them with the scope rows (incrementally and in a rebuild); rows
-- from before this migration get them from stat_pr here.
ALTER TABLE stat_pr_scope
  ADD COLUMN IF NOT EXISTS created_at  DATETIME NULL COMMENT 'stat_pr.created_at (copied: index order)',
  ADD COLUMN IF NOT EXISTS merged_at   DATETIME NULL COMMENT 'stat_pr.merged_at',
  ADD COLUMN IF NOT EXISTS rejected_at DATETIME NULL COMMENT 'stat_pr.rejected_at';
UPDATE stat_pr_scope sc JOIN stat_pr s ON s.pr_id = sc.pr_id
  SET sc.created_at = s.created_at, sc.merged_at = s.merged_at, sc.rejected_at = s.rejected_at
  WHERE sc.created_at IS NULL;
ALTER TABLE stat_pr_scope
  ADD INDEX IF NOT EXISTS stat_pr_scope_created (kind, scope_id, created_at),
  ADD INDEX IF NOT EXISTS stat_pr_scope_merged (kind, scope_id, merged_at),
  ADD INDEX IF NOT EXISTS stat_pr_scope_rejected (kind, scope_id, rejected_at);

-- What wrote each PR snapshot that changed something (lib/store.c: one row
-- per changed snapshot, none for a snapshot already stored).
CREATE TABLE IF NOT EXISTS pr_history (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  pr_id       BIGINT UNSIGNED NOT NULL,
  changed_at  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) COMMENT 'when it was written (UTC)',
  source      VARCHAR(20)     NOT NULL COMMENT 'webhook or sync',
  ref         VARCHAR(100)    NULL COMMENT 'X-GitHub-Delivery of the delivery, or job:ID of the lb-syncd job',
  action      VARCHAR(64)     NULL COMMENT 'the delivery''s action (opened, closed, ...) or the job kind',
  change_kind VARCHAR(10)     NOT NULL COMMENT 'inserted or updated',
  state       VARCHAR(10)     NOT NULL COMMENT 'state of the snapshot written',
  merged      TINYINT(1)      NOT NULL,
  updated_at  DATETIME        NOT NULL COMMENT 'GitHub''s updated_at of the snapshot written',
  PRIMARY KEY (id),
  KEY pr_history_pr (pr_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Deliveries and syncs that changed a PR snapshot (lib/store.c)';

-- Late changes: a monthly counter (stat_counts grain M) of a month that
-- ended more than [stats] settle_days ago changed (lib/rollup.c).
CREATE TABLE IF NOT EXISTS stat_changes (
  id          BIGINT UNSIGNED  NOT NULL AUTO_INCREMENT,
  month       DATE             NOT NULL COMMENT 'first day of the month changed',
  kind        TINYINT UNSIGNED NOT NULL COMMENT '0 team, 1 partner program, 2 everything',
  scope_id    BIGINT UNSIGNED  NOT NULL COMMENT 'team id for kind 0, else 0',
  metric      VARCHAR(300)     NOT NULL COMMENT 'created, merged, rejected, open, partner_created, oss_created, members, contributors, or label:NAME (merged PRs with the label)',
  old_value   INT              NOT NULL,
  new_value   INT              NOT NULL,
  pr_id       BIGINT UNSIGNED  NULL COMMENT 'the PR whose change caused it (NULL: a rebuild)',
  changed_at  DATETIME(6)      NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY stat_changes_month (month, kind, scope_id),
  KEY stat_changes_at (changed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Changes to the counters of settled months ([stats] settle_days)';
