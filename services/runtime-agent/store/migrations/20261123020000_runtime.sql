-- Up Migration
-- Containers of every node (names and ids are unique across the cluster). The agent of a container's
-- node is the only writer of its row; runc's own state is the truth about processes, and the agent
-- reconciles this table with it when it starts.
CREATE TABLE containers (
  id              text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
  name            text        NOT NULL UNIQUE,
  node            text        NOT NULL,
  image_id        text        NOT NULL,
  -- The image as the user named it.
  image_name      text        NOT NULL,
  -- What runs and how: the request merged with the image's config (see containers/model.ts).
  spec            jsonb       NOT NULL,
  -- The chain ids of the image's layers, lowest first: they stay on the node while this row exists.
  layers          text[]      NOT NULL,
  state           text        NOT NULL CHECK (state IN ('created', 'running', 'paused', 'restarting', 'exited', 'removing', 'dead')),
  pid             integer     NOT NULL DEFAULT 0,
  exit_code       integer     NOT NULL DEFAULT 0,
  error           text        NOT NULL DEFAULT '',
  oom_killed      boolean     NOT NULL DEFAULT false,
  -- Set by stop and kill from a user, so that the restart policy leaves the container down.
  stopped_by_user boolean     NOT NULL DEFAULT false,
  restart_count   integer     NOT NULL DEFAULT 0,
  health          jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz
);
CREATE INDEX containers_node ON containers (node);
CREATE INDEX containers_image ON containers (image_id);

-- The layers of the images prepared on each node, so that layers stay while the image does.
CREATE TABLE image_layers (
  node     text   NOT NULL,
  image_id text   NOT NULL,
  layers   text[] NOT NULL,
  PRIMARY KEY (node, image_id)
);

-- Down Migration
DROP TABLE image_layers;
DROP TABLE containers;
