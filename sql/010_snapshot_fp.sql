-- 010: the fingerprint of the last PR snapshot stored.
--
-- lib/store.c writes snapshot_fp with every PR row it writes: the MD5 of
-- everything it stores from that snapshot (the PR's fields, its author, base
-- repository with the tracked/partner flags the configuration gave it, and
-- its labels). A webhook delivery of a snapshot already stored (the same
-- fingerprint, or an older updated_at) is then recognised from this column
-- alone, read by the INSERT of its deliveries row, and writes nothing else.
-- NULL (rows from before, or written by hand): the next delivery of the PR
-- compares field by field and sets it.
ALTER TABLE pull_requests
  ADD COLUMN IF NOT EXISTS snapshot_fp CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL
  COMMENT 'MD5 of the last snapshot stored (lib/store.c); NULL: unknown';
