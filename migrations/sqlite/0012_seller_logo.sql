-- Letterhead logos (SQLite; keep in step with migrations/postgres/0012_seller_logo.sql): the
-- seller profile names its logo by SHA-256 (also in every issued document's seller snapshot),
-- so an image is stored once and never changes or goes away while a document names it.
CREATE TABLE seller_logos (
    sha256     TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,     -- image/png | image/jpeg
    data       BLOB NOT NULL,
    created_at TEXT NOT NULL
);
