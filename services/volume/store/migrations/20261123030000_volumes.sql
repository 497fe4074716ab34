-- Up Migration
-- Volumes of every node. A volume lives on one node (its directory is there); names are unique per
-- node, as Docker's are per host. The volume service of that node is the only writer of its rows.
CREATE TABLE volumes (
  node       text        NOT NULL,
  name       text        NOT NULL CHECK (name ~ '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$'),
  driver     text        NOT NULL,
  labels     jsonb       NOT NULL DEFAULT '{}',
  -- The driver's options (local: type, device, o).
  options    jsonb       NOT NULL DEFAULT '{}',
  -- Made for one mount with no name given: prune takes these without --all.
  anonymous  boolean     NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, name)
);

-- Which containers use which volume: a row from the container's creation to its removal, so that
-- a volume in use cannot go. `mounted` while the container runs with it mounted.
CREATE TABLE volume_uses (
  node         text    NOT NULL,
  name         text    NOT NULL,
  container_id text    NOT NULL,
  mounted      boolean NOT NULL DEFAULT false,
  PRIMARY KEY (node, name, container_id),
  FOREIGN KEY (node, name) REFERENCES volumes (node, name) ON DELETE CASCADE
);
CREATE INDEX volume_uses_container ON volume_uses (container_id);

-- Down Migration
DROP TABLE volume_uses;
DROP TABLE volumes;
