-- 004: statistics rollups (docs/STATS.md) and views for admins.
--
-- The stat_* tables are derived data: lib/rollup keeps them consistent in
-- the transaction that changes a PR or a membership, and rebuilds them from
-- the base tables when the config (tracked repositories, excluded teams) or
-- the memberships / deleted teams change behind its back (admin SQL).
-- Never edit stat_* by hand; edit the base tables and the API notices.
--
-- Vocabulary: grain 'A' (all time, bucket 1970-01-01), 'Y' (bucket =
-- first day of the year), 'Q' (first day of the quarter), 'M' (first day of
-- the month). kind 0 = one partner team (scope_id = team id), kind 1 = the
-- partner program (PRs attributed to at least one ranked team, each once),
-- kind 2 = every counted PR (tracked repository, author not a bot).

-- Memberships get a change time so edits made with SQL are noticed.
ALTER TABLE memberships ADD COLUMN IF NOT EXISTS
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
  COMMENT 'last change (statistics notice edits made with SQL)';
ALTER TABLE memberships ADD INDEX IF NOT EXISTS memberships_updated (updated_at);
ALTER TABLE teams ADD INDEX IF NOT EXISTS teams_updated (updated_at);
ALTER TABLE users ADD INDEX IF NOT EXISTS users_updated (updated_at);
ALTER TABLE repositories ADD INDEX IF NOT EXISTS repositories_updated (updated_at);

CREATE TABLE IF NOT EXISTS stat_state (
  id            TINYINT UNSIGNED NOT NULL,
  config_fp     VARCHAR(64)      NOT NULL DEFAULT '' COMMENT 'fingerprint of the config the rollups were built with',
  exclude_teams VARCHAR(4096)    NOT NULL DEFAULT '' COMMENT 'excluded team slugs of that config, comma-separated',
  unranked_sig  VARCHAR(64)      NOT NULL DEFAULT '' COMMENT 'which teams were deleted or excluded at the last build',
  mem_sig       VARCHAR(64)      NOT NULL DEFAULT '' COMMENT 'row count and newest updated_at of memberships known to the rollups',
  built_at      DATETIME(6)      NULL COMMENT 'last full rebuild',
  build_seconds DOUBLE           NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Row 1: what the rollups were built from (writers lock it shared, a rebuild exclusively); row 2: mem_sig kept by membership changes (they lock it exclusively)';
INSERT IGNORE INTO stat_state (id) VALUES (1), (2);

CREATE TABLE IF NOT EXISTS stat_version (
  slot  TINYINT UNSIGNED NOT NULL COMMENT 'CONNECTION_ID() % 64 of the writer',
  v     BIGINT UNSIGNED  NOT NULL DEFAULT 0,
  PRIMARY KEY (slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Data version of the rollups for API caches: SUM(v) grows with every change (sharded: writers do not queue on one row)';

CREATE TABLE IF NOT EXISTS stat_pr (
  pr_id        BIGINT UNSIGNED NOT NULL,
  author_id    BIGINT UNSIGNED NOT NULL,
  repo_id      BIGINT UNSIGNED NOT NULL,
  partner      TINYINT(1)      NOT NULL COMMENT 'repository owned by the partner org',
  created_at   DATETIME        NOT NULL,
  merged_at    DATETIME        NULL COMMENT 'set when merged',
  rejected_at  DATETIME        NULL COMMENT 'closed_at when closed without merge',
  open         TINYINT(1)      NOT NULL,
  PRIMARY KEY (pr_id),
  KEY stat_pr_author (author_id, created_at),
  KEY stat_pr_created (created_at),
  KEY stat_pr_merged (merged_at),
  KEY stat_pr_rejected (rejected_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: the PRs that count (tracked repository, author not a bot), as last rolled up';

CREATE TABLE IF NOT EXISTS stat_pr_scope (
  pr_id     BIGINT UNSIGNED NOT NULL,
  kind      TINYINT UNSIGNED NOT NULL COMMENT '0 team, 1 partner program, 2 everything',
  scope_id  BIGINT UNSIGNED NOT NULL COMMENT 'team id for kind 0, else 0',
  PRIMARY KEY (pr_id, kind, scope_id),
  KEY stat_pr_scope_scope (kind, scope_id, pr_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: team attribution of each counted PR (membership at creation time)';

CREATE TABLE IF NOT EXISTS stat_pr_label (
  pr_id  BIGINT UNSIGNED NOT NULL,
  label  VARCHAR(255)    NOT NULL,
  PRIMARY KEY (pr_id, label)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: label names of each counted PR, as last rolled up';

CREATE TABLE IF NOT EXISTS stat_counts (
  grain            CHAR(1)          NOT NULL,
  bucket           DATE             NOT NULL,
  kind             TINYINT UNSIGNED NOT NULL,
  scope_id         BIGINT UNSIGNED  NOT NULL,
  created          INT NOT NULL DEFAULT 0,
  merged           INT NOT NULL DEFAULT 0,
  rejected         INT NOT NULL DEFAULT 0,
  open             INT NOT NULL DEFAULT 0 COMMENT 'created in the bucket and still open',
  partner_created  INT NOT NULL DEFAULT 0,
  oss_created      INT NOT NULL DEFAULT 0,
  members          INT NOT NULL DEFAULT 0 COMMENT 'authors with activity (rows of stat_authors)',
  contributors     INT NOT NULL DEFAULT 0 COMMENT 'authors who created a PR',
  PRIMARY KEY (grain, bucket, kind, scope_id),
  KEY stat_counts_scope (kind, scope_id, grain, bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: counters per scope and time bucket';

CREATE TABLE IF NOT EXISTS stat_labels (
  grain     CHAR(1)          NOT NULL,
  bucket    DATE             NOT NULL,
  kind      TINYINT UNSIGNED NOT NULL,
  scope_id  BIGINT UNSIGNED  NOT NULL,
  label     VARCHAR(255)     NOT NULL,
  n         INT              NOT NULL DEFAULT 0 COMMENT 'merged PRs carrying the label',
  PRIMARY KEY (grain, bucket, kind, scope_id, label)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: labels of merged PRs per scope and bucket (points join label_points at query time)';

CREATE TABLE IF NOT EXISTS stat_authors (
  grain     CHAR(1)          NOT NULL,
  bucket    DATE             NOT NULL,
  kind      TINYINT UNSIGNED NOT NULL,
  scope_id  BIGINT UNSIGNED  NOT NULL,
  author_id BIGINT UNSIGNED  NOT NULL,
  created   INT NOT NULL DEFAULT 0,
  merged    INT NOT NULL DEFAULT 0,
  rejected  INT NOT NULL DEFAULT 0,
  PRIMARY KEY (grain, bucket, kind, scope_id, author_id),
  KEY stat_authors_merged (grain, bucket, kind, scope_id, merged),
  KEY stat_authors_created (grain, bucket, kind, scope_id, created),
  KEY stat_authors_rejected (grain, bucket, kind, scope_id, rejected)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: per author counters per scope and bucket (contributors, team members)';

CREATE TABLE IF NOT EXISTS stat_repos (
  grain     CHAR(1)          NOT NULL,
  bucket    DATE             NOT NULL,
  team_id   BIGINT UNSIGNED  NOT NULL,
  author_id BIGINT UNSIGNED  NOT NULL,
  repo_id   BIGINT UNSIGNED  NOT NULL,
  created   INT NOT NULL DEFAULT 0,
  merged    INT NOT NULL DEFAULT 0,
  rejected  INT NOT NULL DEFAULT 0,
  PRIMARY KEY (grain, bucket, team_id, author_id, repo_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: per team member and repository counters (team drill-down)';

CREATE TABLE IF NOT EXISTS stat_first (
  kind          TINYINT UNSIGNED NOT NULL,
  scope_id      BIGINT UNSIGNED  NOT NULL,
  author_id     BIGINT UNSIGNED  NOT NULL,
  first_created DATETIME         NOT NULL,
  PRIMARY KEY (kind, scope_id, author_id),
  KEY stat_first_when (kind, scope_id, first_created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Derived: creation time of each author''s first counted PR (new contributors)';

-- Views for admins (README "For admins"). They read the base tables, not
-- the rollups, so they are the reference the API can be checked against.
CREATE OR REPLACE VIEW v_prs AS
SELECT p.id, r.full_name AS repo, p.number, u.login AS author, u.type AS author_type,
       p.title, p.state, p.merged, p.created_at, p.merged_at,
       IF(p.state = 'closed' AND p.merged = 0, p.closed_at, NULL) AS rejected_at,
       r.tracked, r.partner_owned, p.html_url
FROM pull_requests p
JOIN repositories r ON r.id = p.repo_id
JOIN users u ON u.id = p.author_id;

CREATE OR REPLACE VIEW v_memberships AS
SELECT m.id, t.slug AS team, t.name AS team_name, t.deleted_at AS team_deleted_at,
       u.login, m.user_id, m.team_id, m.started_at, m.ended_at, m.source, m.note
FROM memberships m
JOIN teams t ON t.id = m.team_id
JOIN users u ON u.id = m.user_id;

CREATE OR REPLACE VIEW v_pr_teams AS
SELECT s.pr_id, t.slug AS team, u.login AS author, r.full_name AS repo,
       s.created_at, s.merged_at, s.rejected_at, s.open
FROM stat_pr_scope sc
JOIN stat_pr s ON s.pr_id = sc.pr_id
JOIN teams t ON t.id = sc.scope_id
JOIN users u ON u.id = s.author_id
JOIN repositories r ON r.id = s.repo_id
WHERE sc.kind = 0;
