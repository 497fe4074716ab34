-- Up Migration
-- The image model. Blob bytes live in the content store (files named by digest); these tables say
-- what the blobs are and what refers to what, for resolving names and for garbage collection.

-- Manifests and indexes (their JSON bodies are blobs).
CREATE TABLE manifests (
  digest        text        PRIMARY KEY,
  media_type    text        NOT NULL,
  size          bigint      NOT NULL,
  -- NULL for an index.
  config_digest text,
  stored_at     timestamptz NOT NULL DEFAULT now()
);

-- Everything a manifest or index refers to, in order: its config, its layers, or its manifests.
CREATE TABLE manifest_children (
  manifest_digest text    NOT NULL REFERENCES manifests (digest) ON DELETE CASCADE,
  position        integer NOT NULL,
  kind            text    NOT NULL CHECK (kind IN ('config', 'layer', 'manifest')),
  digest          text    NOT NULL,
  media_type      text    NOT NULL,
  size            bigint  NOT NULL,
  -- For the manifests of an index: "os/arch[/variant]".
  platform        text,
  PRIMARY KEY (manifest_digest, position)
);
CREATE INDEX manifest_children_digest ON manifest_children (digest);

-- Images, identified as Docker does by the digest of their config.
CREATE TABLE images (
  id              text        PRIMARY KEY,
  -- The single-platform manifest the image was stored with.
  manifest_digest text        NOT NULL REFERENCES manifests (digest),
  created         timestamptz,
  -- The sum of the manifest's layer sizes.
  size            bigint      NOT NULL,
  os              text        NOT NULL DEFAULT '',
  architecture    text        NOT NULL DEFAULT '',
  variant         text        NOT NULL DEFAULT '',
  labels          jsonb       NOT NULL DEFAULT '{}'::jsonb,
  -- The image this one was built on, for builds; NULL otherwise.
  parent_id       text,
  stored_at       timestamptz NOT NULL DEFAULT now()
);

-- Names: "docker.io/library/busybox:latest" points at an image, and records the top-level digest it
-- was pulled or pushed as (an index's, or the manifest's).
CREATE TABLE tags (
  name            text        PRIMARY KEY,
  repository      text        NOT NULL,
  tag             text        NOT NULL,
  image_id        text        NOT NULL REFERENCES images (id),
  target_digest   text        NOT NULL REFERENCES manifests (digest),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tags_image ON tags (image_id);

-- The digests an image is known by in each repository ("RepoDigests").
CREATE TABLE repo_digests (
  repository      text NOT NULL,
  digest          text NOT NULL REFERENCES manifests (digest),
  image_id        text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  PRIMARY KEY (repository, digest)
);
CREATE INDEX repo_digests_image ON repo_digests (image_id);

-- Down Migration
DROP TABLE repo_digests;
DROP TABLE tags;
DROP TABLE images;
DROP TABLE manifest_children;
DROP TABLE manifests;
