-- Up Migration
-- The transactional outbox: a service inserts its events here in the same transaction as the state
-- change they describe; the relay publishes them to JetStream in seq order and stamps published_at.
CREATE TABLE outbox (
  seq          bigserial   PRIMARY KEY,
  id           uuid        NOT NULL UNIQUE,
  subject      text        NOT NULL,
  payload      jsonb       NOT NULL,
  headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Down Migration
DROP TABLE outbox;
