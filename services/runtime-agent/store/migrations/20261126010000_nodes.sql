-- Up Migration
-- The cluster's nodes: each agent registers its host at start and heartbeats while it runs.
CREATE TABLE nodes (
  name         text        PRIMARY KEY,
  addresses    text[]      NOT NULL DEFAULT '{}',
  cpus         integer     NOT NULL,
  memory_bytes bigint      NOT NULL,
  version      text        NOT NULL,
  -- Set by `berth node drain`: no new containers are placed there.
  draining     boolean     NOT NULL DEFAULT false,
  joined_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE nodes;
