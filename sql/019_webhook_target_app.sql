-- 019: webhooks.target_type also names a GitHub App's webhook ('app': the
-- App's one webhook, which has no organization or repository target; its
-- deliveries are listed and redelivered through the App's own endpoints,
-- lib/integrity.c). Only the column's comment changes.
ALTER TABLE webhooks MODIFY target_type VARCHAR(20) NULL
  COMMENT 'organization, repository or app (a GitHub App''s own webhook)';
