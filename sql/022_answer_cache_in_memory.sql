-- 022: the answers lb-api's workers share are kept in shared memory
-- (lib/shcache), not in table stat_answers (sql/018).
--
-- Every answer a write made stale was stored again as a row: at a million
-- PRs and 10 deliveries a second, 44 MB of redo log in 10 s for 400 KB
-- bodies (3 MB without them), and on Galera every body was replicated to
-- every node that would never read it. The workers of one lb-api now map
-- one region; each host computes its own answers. The table held nothing
-- that was needed (a cache, emptied at will): it goes.
DROP TABLE IF EXISTS stat_answers;
