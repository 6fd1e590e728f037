-- State of the grains that exist per friend (millions of rows), written by BatchedPostgresGrainStorage: many grains'
-- reads or writes go to PostgreSQL as one statement, so a burst costs a few round trips and commits, not one each.
-- StateKey is "{grain id}#{state name}", which includes the grain type: two grain types never share a row.
-- Version is the ETag: a write names the version it read, and a row that moved on refuses it. Clearing a state
-- keeps its row with no payload and the next version, so a stale activation cannot write over it as if new.
CREATE TABLE IF NOT EXISTS StepcastGrainState
(
    ServiceId  varchar(150) NOT NULL,
    StateKey   text         NOT NULL,
    Version    integer      NOT NULL,
    Payload    bytea        NULL,
    ModifiedOn timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT PK_StepcastGrainState PRIMARY KEY (ServiceId, StateKey)
);

-- Rows are rewritten in place many times over a friend's life: leave room on each page for the new version, so
-- updates stay on the page (HOT) and do not touch the primary key index.
ALTER TABLE StepcastGrainState SET (fillfactor = 80);

DO $$
BEGIN
    EXECUTE 'ALTER TABLE StepcastGrainState ALTER COLUMN Payload SET COMPRESSION lz4';
EXCEPTION
    WHEN feature_not_supported OR syntax_error THEN
        RAISE NOTICE 'lz4 is not available on this server; grain state stays compressed with pglz';
END
$$;
