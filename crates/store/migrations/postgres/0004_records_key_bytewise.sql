-- Record keys compare byte by byte, as SQLite compares them, whatever the
-- database's collation: listing a kind a page after the last key (batch lines)
-- then walks the primary key instead of sorting the kind.
ALTER TABLE records ALTER COLUMN key TYPE TEXT COLLATE "C";
