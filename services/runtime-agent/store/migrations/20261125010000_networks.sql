-- Up Migration
-- The container networks of each node. "bridge" is made by the agent at start; "host" and "none"
-- are not stored (they have no state).
CREATE TABLE networks (
  id         text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
  node       text        NOT NULL,
  name       text        NOT NULL,
  subnet     cidr        NOT NULL,
  gateway    inet        NOT NULL,
  -- The Linux bridge's interface name.
  bridge     text        NOT NULL,
  internal   boolean     NOT NULL DEFAULT false,
  labels     jsonb       NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (node, name),
  UNIQUE (node, bridge)
);

-- A container's place on a network, from its create (or connect) to its removal (or disconnect):
-- the address stays the container's across its restarts and the agent's, and the unique
-- constraint makes sure no address is handed out twice.
CREATE TABLE endpoints (
  network_id   text    NOT NULL REFERENCES networks (id),
  container_id text    NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
  address      inet    NOT NULL,
  mac          text    NOT NULL,
  aliases      text[]  NOT NULL DEFAULT '{}',
  -- Connected order: the first endpoint holds the default route.
  position     integer NOT NULL,
  PRIMARY KEY (network_id, container_id),
  UNIQUE (network_id, address)
);
CREATE INDEX endpoints_container ON endpoints (container_id);

-- The host ports a running container holds, as published at its start (a port the kernel picked
-- is known only then); gone when it stops.
CREATE TABLE published_ports (
  container_id   text    NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
  protocol       text    NOT NULL CHECK (protocol IN ('tcp', 'udp')),
  container_port integer NOT NULL,
  host_ip        text    NOT NULL,
  host_port      integer NOT NULL,
  PRIMARY KEY (container_id, protocol, container_port, host_ip, host_port)
);

-- Down Migration
DROP TABLE published_ports;
DROP TABLE endpoints;
DROP TABLE networks;
