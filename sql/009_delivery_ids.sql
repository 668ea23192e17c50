-- 009: delivery ids are compared as bytes.
--
-- X-GitHub-Delivery is an opaque ASCII token (lb-hook accepts 1-64 of
-- A-Z a-z 0-9 - _ . :). As utf8mb4_unicode_ci, every insert of a delivery
-- compared ids through the Unicode collation while searching the primary
-- key; bench/10-hook showed the cost per delivery. Binary comparison is also
-- the right identity for an opaque token (two ids that differ in case are
-- two deliveries). Rebuilds the table once (the bodies are copied).
ALTER TABLE deliveries
  MODIFY id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'X-GitHub-Delivery';
