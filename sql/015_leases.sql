-- 015: leases that hold across every node of a Galera cluster (lib/rollup.c).
--
-- GET_LOCK() is local to one MariaDB server: on a cluster two processes on
-- two nodes would both get it. A lease is a committed row instead: taking
-- it is an UPDATE that only changes the row when it is free (no owner, or
-- expired) or already the taker's; two nodes taking it at once conflict at
-- COMMIT (certification) and one of them loses. The holder renews it while
-- it works and gives it back at the end; a holder that died loses it when
-- it expires.
--   fold    one process at a time folds stat_queue into the rollups
--   rollup  one process at a time rebuilds the rollups (it holds fold too)
CREATE TABLE IF NOT EXISTS leases (
  name        VARCHAR(32)  NOT NULL COMMENT 'what the lease guards',
  owner       VARCHAR(160) NULL     COMMENT 'host:pid:start:handle of the holder; NULL when free',
  expires_at  DATETIME(6)  NOT NULL DEFAULT '1970-01-01 00:00:00' COMMENT 'UTC; free after this',
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
  COMMENT='cluster-wide leases (lib/rollup.c lease_take)';

INSERT IGNORE INTO leases (name) VALUES ('fold'), ('rollup');
