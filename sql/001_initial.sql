-- 001: the initial schema.
--
-- Conventions (docs/SCHEMA.md has the long form):
--  * GitHub objects keep GitHub's numeric id as primary key, so renames and
--    transfers never break references.
--  * Times are UTC, DATETIME(6) or DATETIME. NULL in a membership's
--    started_at means "since the beginning of time"; NULL in ended_at means
--    "still a member".
--  * InnoDB + utf8mb4 everywhere, a primary key on every table, no triggers,
--    no MyISAM, no LOCK TABLES: replicas and Galera run it as is.
--  * Every statement is idempotent (IF NOT EXISTS) so a migration that failed
--    half-way can simply be run again once fixed.

CREATE TABLE IF NOT EXISTS organizations (
  id           BIGINT UNSIGNED NOT NULL COMMENT 'GitHub organization (or user) id',
  login        VARCHAR(100)    NOT NULL,
  is_partner   TINYINT(1)      NOT NULL DEFAULT 0 COMMENT '1 for the partner org of the config',
  updated_at   DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY organizations_login (login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='GitHub accounts that own repositories or teams';

CREATE TABLE IF NOT EXISTS repositories (
  id             BIGINT UNSIGNED NOT NULL COMMENT 'GitHub repository id',
  owner_login    VARCHAR(100)    NOT NULL,
  name           VARCHAR(100)    NOT NULL,
  full_name      VARCHAR(201)    NOT NULL COMMENT 'owner/name as GitHub shows it now',
  tracked        TINYINT(1)      NOT NULL DEFAULT 0 COMMENT '1 when listed in [github] repositories',
  partner_owned  TINYINT(1)      NOT NULL DEFAULT 0 COMMENT '1 when the owner is the partner org',
  private        TINYINT(1)      NOT NULL DEFAULT 0,
  updated_at     DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY repositories_full_name (full_name),
  KEY repositories_tracked (tracked)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Repositories seen in PRs, syncs or webhooks; only tracked ones count';

CREATE TABLE IF NOT EXISTS users (
  id           BIGINT UNSIGNED NOT NULL COMMENT 'GitHub user id',
  login        VARCHAR(100)    NOT NULL,
  avatar_url   VARCHAR(512)    NULL,
  type         VARCHAR(20)     NOT NULL DEFAULT 'User' COMMENT 'User, Bot or Organization, as GitHub says',
  updated_at   DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY users_login (login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='GitHub accounts: team members and PR authors (type Bot never counts)';

CREATE TABLE IF NOT EXISTS teams (
  id                 BIGINT UNSIGNED NOT NULL COMMENT 'GitHub team id',
  org_id             BIGINT UNSIGNED NULL,
  slug               VARCHAR(100)    NOT NULL,
  name               VARCHAR(255)    NOT NULL,
  description        VARCHAR(1024)   NULL,
  deleted_at         DATETIME(6)     NULL COMMENT 'set when GitHub deleted the team; deleted teams are not ranked',
  members_synced_at  DATETIME(6)     NULL COMMENT 'last complete member sync',
  created_at         DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at         DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY teams_slug (slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Teams of the partner org: one team = one partner company';

CREATE TABLE IF NOT EXISTS memberships (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  team_id     BIGINT UNSIGNED NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  started_at  DATETIME(6)     NULL COMMENT 'NULL = since the beginning of time (learned from a sync)',
  ended_at    DATETIME(6)     NULL COMMENT 'NULL = still a member',
  source      VARCHAR(20)     NOT NULL DEFAULT 'sync' COMMENT 'sync, webhook or admin',
  note        VARCHAR(255)    NULL COMMENT 'free text for admins correcting history',
  PRIMARY KEY (id),
  KEY memberships_team (team_id, user_id, started_at),
  KEY memberships_user (user_id, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Membership history: a PR counts for team T when its author was in T at the PR''s creation. Admins may edit it.';

CREATE TABLE IF NOT EXISTS pull_requests (
  id             BIGINT UNSIGNED NOT NULL COMMENT 'GitHub pull request id',
  repo_id        BIGINT UNSIGNED NOT NULL COMMENT 'base repository',
  number         INT UNSIGNED    NOT NULL,
  author_id      BIGINT UNSIGNED NOT NULL,
  title          VARCHAR(1024)   NOT NULL DEFAULT '',
  html_url       VARCHAR(512)    NULL,
  state          VARCHAR(10)     NOT NULL COMMENT 'open or closed',
  draft          TINYINT(1)      NOT NULL DEFAULT 0,
  merged         TINYINT(1)      NOT NULL DEFAULT 0,
  created_at     DATETIME        NOT NULL,
  updated_at     DATETIME        NOT NULL COMMENT 'GitHub''s updated_at of the stored snapshot',
  closed_at      DATETIME        NULL,
  merged_at      DATETIME        NULL,
  additions      INT UNSIGNED    NULL COMMENT 'NULL when only the list API was seen',
  deletions      INT UNSIGNED    NULL,
  changed_files  INT UNSIGNED    NULL,
  commits        INT UNSIGNED    NULL,
  comments       INT UNSIGNED    NULL,
  review_comments INT UNSIGNED   NULL,
  source         VARCHAR(20)     NOT NULL DEFAULT 'webhook' COMMENT 'webhook or sync: who wrote the snapshot',
  stored_at      DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY pull_requests_repo_number (repo_id, number),
  KEY pull_requests_created (created_at),
  KEY pull_requests_merged (merged_at),
  KEY pull_requests_closed (closed_at),
  KEY pull_requests_author (author_id, created_at),
  KEY pull_requests_repo_updated (repo_id, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Latest known snapshot of each pull request';

CREATE TABLE IF NOT EXISTS labels (
  id          BIGINT UNSIGNED NOT NULL COMMENT 'GitHub label id',
  repo_id     BIGINT UNSIGNED NULL,
  name        VARCHAR(255)    NOT NULL,
  color       CHAR(6)         NULL COMMENT 'hex, without #',
  description VARCHAR(1024)   NULL,
  PRIMARY KEY (id),
  KEY labels_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Labels seen on pull requests';

CREATE TABLE IF NOT EXISTS pr_labels (
  pr_id     BIGINT UNSIGNED NOT NULL,
  label_id  BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (pr_id, label_id),
  KEY pr_labels_label (label_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='The label set of each PR snapshot';

CREATE TABLE IF NOT EXISTS label_points (
  label_name  VARCHAR(255) NOT NULL COMMENT 'matched against labels.name',
  points      INT          NOT NULL,
  PRIMARY KEY (label_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Extra points per label on merged PRs; edit with SQL';

CREATE TABLE IF NOT EXISTS deliveries (
  id            VARCHAR(64)     NOT NULL COMMENT 'X-GitHub-Delivery',
  event         VARCHAR(64)     NOT NULL COMMENT 'X-GitHub-Event',
  action        VARCHAR(64)     NULL,
  hook_id       BIGINT UNSIGNED NULL COMMENT 'X-GitHub-Hook-ID',
  received_at   DATETIME(6)     NOT NULL,
  processed_at  DATETIME(6)     NULL,
  outcome       VARCHAR(16)     NOT NULL COMMENT 'processed, ignored or failed',
  error         VARCHAR(1024)   NULL,
  content_type  VARCHAR(64)     NULL,
  body          LONGBLOB        NOT NULL COMMENT 'the JSON payload as received',
  PRIMARY KEY (id),
  KEY deliveries_received (received_at),
  KEY deliveries_outcome (outcome, received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Every webhook delivery received, raw, with its outcome';

CREATE TABLE IF NOT EXISTS webhooks (
  hook_id       BIGINT UNSIGNED NOT NULL,
  target_type   VARCHAR(20)     NULL COMMENT 'organization or repository',
  target        VARCHAR(201)    NULL,
  events        VARCHAR(1024)   NULL,
  first_seen_at DATETIME(6)     NOT NULL,
  last_ping_at  DATETIME(6)     NULL,
  PRIMARY KEY (hook_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='GitHub hooks that delivered to us (from ping)';

CREATE TABLE IF NOT EXISTS jobs (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  kind             VARCHAR(32)     NOT NULL COMMENT 'sync_teams, sync_team, sync_prs, sync_pr, check, ...',
  args             VARCHAR(1024)   NOT NULL DEFAULT '' COMMENT 'JSON arguments',
  dedupe_key       VARCHAR(255)    NOT NULL,
  active_key       VARCHAR(255)    AS (IF(state IN ('queued','running'), dedupe_key, NULL)) PERSISTENT
                   COMMENT 'unique among queued/running jobs: the same work is never queued twice',
  state            VARCHAR(16)     NOT NULL DEFAULT 'queued' COMMENT 'queued, running, done, failed',
  priority         INT             NOT NULL DEFAULT 0,
  attempts         INT UNSIGNED    NOT NULL DEFAULT 0,
  max_attempts     INT UNSIGNED    NOT NULL DEFAULT 8,
  run_after        DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  lease_owner      VARCHAR(255)    NULL,
  lease_expires_at DATETIME(6)     NULL,
  progress         VARCHAR(255)    NULL,
  last_error       VARCHAR(1024)   NULL,
  created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  finished_at      DATETIME(6)     NULL,
  PRIMARY KEY (id),
  UNIQUE KEY jobs_active (active_key),
  KEY jobs_ready (state, run_after, priority)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Durable job queue shared by every lb-syncd';

CREATE TABLE IF NOT EXISTS http_cache (
  url         VARCHAR(700)  NOT NULL COMMENT 'request URL without token',
  etag        VARCHAR(255)  NULL,
  last_modified VARCHAR(64) NULL,
  fetched_at  DATETIME(6)   NOT NULL,
  PRIMARY KEY (url)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
  COMMENT='ETag per GitHub URL, sent back as If-None-Match';

CREATE TABLE IF NOT EXISTS sync_state (
  name          VARCHAR(255)  NOT NULL COMMENT 'e.g. teams, prs:OWNER/REPO',
  watermark     DATETIME(6)   NULL COMMENT 'newest updated_at seen by the last complete run',
  last_started_at  DATETIME(6) NULL,
  last_finished_at DATETIME(6) NULL,
  last_full_at  DATETIME(6)   NULL,
  last_status   VARCHAR(16)   NULL,
  detail        VARCHAR(1024) NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Watermarks and last runs of the syncs and schedules';

CREATE TABLE IF NOT EXISTS integrity_runs (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  started_at   DATETIME(6)     NOT NULL,
  finished_at  DATETIME(6)     NULL,
  findings     INT UNSIGNED    NOT NULL DEFAULT 0,
  requests     INT UNSIGNED    NOT NULL DEFAULT 0 COMMENT 'GitHub requests the run used',
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Integrity check runs';

CREATE TABLE IF NOT EXISTS integrity_findings (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  run_id         BIGINT UNSIGNED NOT NULL,
  check_name     VARCHAR(32)     NOT NULL COMMENT 'freshness, reconciliation, referential, deliveries, spool',
  subject        VARCHAR(255)    NOT NULL,
  detail         VARCHAR(1024)   NULL,
  found_at       DATETIME(6)     NOT NULL,
  repair_job_id  BIGINT UNSIGNED NULL,
  PRIMARY KEY (id),
  KEY integrity_findings_run (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='What each integrity run found, and the job that repairs it';
