-- A friend's safety net lives in its state row, written by the same statement as the state (BatchedPostgresGrainStorage):
-- the time a sweep wakes the friend if no activation has run its step due now by then. Replaces a reminder row written
-- and removed around each such step, two statements per welcomed follow.
ALTER TABLE StepcastGrainState ADD COLUMN IF NOT EXISTS SafetyNetAt timestamptz NULL;

-- Only rows with a safety net set, a few per friend in flight: the sweep reads the overdue ones in time order. On a large
-- existing table, create it first with CREATE INDEX CONCURRENTLY (same name) to keep writes flowing (docs/operations.md).
CREATE INDEX IF NOT EXISTS IX_StepcastGrainState_SafetyNetAt
    ON StepcastGrainState (ServiceId, SafetyNetAt) WHERE SafetyNetAt IS NOT NULL;
