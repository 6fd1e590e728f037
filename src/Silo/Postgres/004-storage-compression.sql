-- Grain state is JSON of a few kB per friend, so PostgreSQL compresses it (TOAST) on every write. lz4 takes a
-- fraction of the CPU of the default pglz at a similar ratio for JSON. Values already stored keep their method until
-- rewritten. A server built without lz4 keeps pglz: the engine works the same, only slower to write.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE OrleansStorage ALTER COLUMN PayloadBinary SET COMPRESSION lz4';
EXCEPTION
    WHEN feature_not_supported OR syntax_error THEN
        RAISE NOTICE 'lz4 is not available on this server; grain state stays compressed with pglz';
END
$$;
