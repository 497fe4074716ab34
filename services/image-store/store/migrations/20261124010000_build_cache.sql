-- Up Migration
-- Images the builder keeps as build cache (a cached step's result). Like Docker's intermediate
-- images they are not dangling: image prune keeps them and `images` shows them only with -a while
-- they have no name, until the builder releases them (ReleaseBuildCache).
ALTER TABLE images ADD COLUMN build_cache boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE images DROP COLUMN build_cache;
