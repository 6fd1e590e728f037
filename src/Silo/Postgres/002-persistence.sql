-- Orleans ADO.NET grain storage (Microsoft.Orleans.Persistence.AdoNet 10.x) on PostgreSQL.
--
-- Parameters Orleans binds on every query: @ServiceId, @GrainTypeString (the state name; our
-- StepcastGrainStorage prefixes it with the grain type), @GrainTypeHash, @GrainIdN0, @GrainIdN1,
-- @GrainIdExtensionString (NULL for plain integer/Guid keys), @GrainIdHash; writes and clears
-- also bind @GrainStateVersion (NULL = the grain has never seen a stored row), writes bind
-- @PayloadBinary.
--
-- The etag is Version. A write or clear returns the new version; returning no row tells
-- Orleans the caller's etag was stale, and it throws InconsistentStateException.
--
-- The key is the grain identity itself; the two hashes are stored (they are what Orleans
-- computes) but not part of the key, so changing the hasher never orphans rows.
-- GrainIdExtensionString is stored as '' when NULL so a plain unique key works on any
-- PostgreSQL version.

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    ServiceId              varchar(150) NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainIdExtensionString varchar(512) NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainIdHash            integer      NOT NULL,
    PayloadBinary          bytea        NULL,
    Version                integer      NOT NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT PK_OrleansStorage PRIMARY KEY
        (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Result: PayloadBinary (NULL after a clear), Version. No row = never written.
('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''');
'),

-- One statement, one round trip: update the row if it is at @GrainStateVersion, or insert it
-- at version 1 if the caller has never seen a row (@GrainStateVersion IS NULL). Anything
-- else (stale etag, row created by someone else meanwhile) yields no row = conflict.
('WriteToStorageKey', '
WITH updated AS (
    UPDATE OrleansStorage
    SET PayloadBinary = @PayloadBinary,
        Version = Version + 1,
        GrainTypeHash = @GrainTypeHash,
        GrainIdHash = @GrainIdHash,
        ModifiedOn = now()
    WHERE ServiceId = @ServiceId
      AND GrainTypeString = @GrainTypeString
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''')
      AND Version = @GrainStateVersion
    RETURNING Version
),
inserted AS (
    INSERT INTO OrleansStorage
        (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString,
         GrainTypeHash, GrainIdHash, PayloadBinary, Version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''''),
           @GrainTypeHash, @GrainIdHash, @PayloadBinary, 1
    WHERE @GrainStateVersion::integer IS NULL
    ON CONFLICT ON CONSTRAINT PK_OrleansStorage DO NOTHING
    RETURNING Version
)
SELECT Version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT Version FROM inserted;
'),

-- Clearing keeps the row (and so the version sequence) and drops the payload.
('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL,
    Version = Version + 1,
    ModifiedOn = now()
WHERE ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''')
  AND Version = @GrainStateVersion
RETURNING Version;
'),

-- Used only with AdoNetGrainStorageOptions.DeleteStateOnClear. Orleans treats a returned
-- value equal to the caller's etag as a conflict, so report the version the delete retired
-- as Version + 1.
('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '''')
  AND Version = @GrainStateVersion
RETURNING Version + 1;
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
