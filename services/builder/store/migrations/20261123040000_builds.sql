-- Up Migration
-- The build cache: what the build state was after a step, by the step's key (a digest of the state
-- before it, the instruction and its inputs). A state that holds layers names the image that keeps
-- them in the image-store (marked as build cache there, so that image prune leaves it).
CREATE TABLE cache_entries (
  key          text        PRIMARY KEY CHECK (key ~ '^sha256:[0-9a-f]{64}$'),
  -- The config, layers and history after the step (see build/state.ts).
  state        jsonb       NOT NULL,
  -- The image holding the state's layers; NULL for a state without layers (FROM scratch, metadata).
  image_id     text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cache_entries_image ON cache_entries (image_id);

-- Down Migration
DROP TABLE cache_entries;
