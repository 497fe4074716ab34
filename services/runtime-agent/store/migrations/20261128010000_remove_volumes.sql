-- Up Migration
-- Whether a removal under way was asked to take the container's anonymous volumes (rm -v): a
-- removal the agent did not live to finish is finished at its next start as it was asked.
ALTER TABLE containers ADD COLUMN remove_volumes boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE containers DROP COLUMN remove_volumes;
