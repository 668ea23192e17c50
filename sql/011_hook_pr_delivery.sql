-- 011: one round trip for a pull_request delivery whose snapshot is stored.
--
-- lb-hook (lib/ingest.c) calls this first, inside the delivery's transaction:
-- it inserts the deliveries row and looks the PR's fingerprint up
-- (pull_requests.snapshot_fp, sql/010). When the stored snapshot is the same
-- one, or newer, the delivery has no other effect: the procedure commits the
-- transaction itself and returns 1. Otherwise it returns 0 and the
-- transaction stays open for lib/store to write the snapshot and commit.
-- A delivery id stored before fails the INSERT (duplicate key), as a plain
-- INSERT would.
DELIMITER //
CREATE OR REPLACE PROCEDURE hook_pr_delivery(
  IN p_id VARCHAR(64) CHARACTER SET ascii, IN p_event VARCHAR(64), IN p_action VARCHAR(64),
  IN p_hook_id BIGINT UNSIGNED, IN p_received_at DATETIME(6), IN p_processed_at DATETIME(6),
  IN p_content_type VARCHAR(64), IN p_body LONGBLOB,
  IN p_pr_id BIGINT UNSIGNED, IN p_fp CHAR(32) CHARACTER SET ascii, IN p_updated_at DATETIME)
  MODIFIES SQL DATA
  COMMENT 'lb-hook: deliveries row + known-snapshot check in one call (sql/011)'
BEGIN
  DECLARE known INT DEFAULT 0;
  INSERT INTO deliveries (id, event, action, hook_id, received_at, processed_at, outcome, error,
                          content_type, body)
  VALUES (p_id, p_event, p_action, p_hook_id, p_received_at, p_processed_at, 'processed', NULL,
          p_content_type, p_body);
  SELECT IFNULL(MAX(snapshot_fp = p_fp OR updated_at > p_updated_at), 0) INTO known
    FROM pull_requests WHERE id = p_pr_id;
  IF known THEN
    COMMIT;
  END IF;
  SELECT known;
END//
DELIMITER ;
