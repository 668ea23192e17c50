-- 006: what the reconciliation check believed GitHub's PR counts were, per
-- tracked repository, field and month, at the last check (lib/integrity.c).
--
-- A month whose stored count moved away from this belief since then (rows
-- lost, webhooks applied, a gap found last time and not yet repaired) is
-- where a total that differs most likely differs now: the next check asks
-- GitHub about those months first, one search each, before bisecting.
CREATE TABLE IF NOT EXISTS integrity_counts (
  repo        VARCHAR(201)     NOT NULL COMMENT 'owner/name as configured',
  field       TINYINT UNSIGNED NOT NULL COMMENT '0 created, 1 merged',
  month       INT UNSIGNED     NOT NULL COMMENT 'year * 12 + month - 1',
  github      BIGINT UNSIGNED  NOT NULL COMMENT 'GitHub count believed at the last check',
  checked_at  DATETIME(6)      NOT NULL,
  PRIMARY KEY (repo, field, month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
  COMMENT='Reconciliation check: per-month PR counts believed at the last check';
