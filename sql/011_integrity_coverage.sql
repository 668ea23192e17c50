-- 011: the integrity checks cover every fact a statistic depends on
-- (lib/integrity.c, README "Integrity checks").
--
-- integrity_counts also keeps, per month, the count of PRs closed without
-- merge (field 2: by closed month).
ALTER TABLE integrity_counts MODIFY field TINYINT UNSIGNED NOT NULL
  COMMENT '0 created, 1 merged, 2 closed without merge';

-- integrity_pages keeps the last answer (ETag and a summary of the items) of
-- more lists than the freshness page: the repository's labels
-- ("labels:O/R:PAGE"), the partner org's teams ("teams:ORG:PAGE") and each
-- team's members ("members:TEAM_ID:PAGE").
ALTER TABLE integrity_pages MODIFY repo VARCHAR(300) NOT NULL
  COMMENT 'owner/name of a freshness page, or labels:/teams:/members: keys';

-- What a run could not verify (a check skipped for budget or configuration,
-- an answer GitHub marked incomplete): said, never counted as clean.
ALTER TABLE integrity_runs ADD COLUMN IF NOT EXISTS
  unverified INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'things this run could not verify';
CREATE TABLE IF NOT EXISTS integrity_unverified (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  run_id      BIGINT UNSIGNED NOT NULL,
  check_name  VARCHAR(32)     NOT NULL,
  subject     VARCHAR(255)    NOT NULL,
  detail      VARCHAR(1024)   NULL,
  PRIMARY KEY (id),
  KEY integrity_unverified_run (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='What each integrity run could not verify, and why';
