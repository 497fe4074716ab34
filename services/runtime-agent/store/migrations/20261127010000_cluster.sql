-- Up Migration
-- Where the other agents reach a node's agent (HOST:PORT over mutual TLS; null without a TCP
-- listener), the node's labels for placement constraints, and since when it is known to be silent
-- (set once, by the first agent to notice, which records the event).
ALTER TABLE nodes ADD COLUMN endpoint text, ADD COLUMN labels jsonb NOT NULL DEFAULT '{}', ADD COLUMN unreachable_since timestamptz;
-- Why a container was placed on its node, as inspect explains it.
ALTER TABLE containers ADD COLUMN placement text NOT NULL DEFAULT '';

-- Down Migration
ALTER TABLE containers DROP COLUMN placement;
ALTER TABLE nodes DROP COLUMN endpoint, DROP COLUMN labels, DROP COLUMN unreachable_since;
