-- 018: the answer cache shared by the lb-api workers (docs/ARCHITECTURE.md
-- "Answer cache", docs/OPERATIONS.md "Read performance").
--
-- One row per route and normalized parameters (k = SHA-256 of the key),
-- holding the answer of the data version `ver` it was computed for. A
-- worker that misses its own cache reads this row; the first worker to
-- miss both computes the answer once (GET_LOCK on the key: the others
-- wait for it) and stores it here. Rows older than 60 s are never served
-- and are deleted by the next store; the bodies are kept under 64 MB in
-- total (oldest first). Nothing here is needed: the table may be emptied
-- at any time.
CREATE TABLE IF NOT EXISTS stat_answers (
  k       BINARY(32)        NOT NULL,
  ver     VARCHAR(512)      NOT NULL,
  status  SMALLINT UNSIGNED NOT NULL,
  ctype   VARCHAR(100)      NOT NULL,
  etag    VARCHAR(40)       NOT NULL,
  len     INT UNSIGNED      NOT NULL,
  body    LONGBLOB          NOT NULL,
  at      DATETIME(6)       NOT NULL,
  PRIMARY KEY (k),
  KEY stat_answers_at (at, len)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='lb-api answers shared by its workers (cgi-bin/api/common.c)';
