using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using Stepcast.Grains.Diagnostics;
using Stepcast.Grains.Friends;

namespace Stepcast.Silo.Postgres;

/// <summary>
/// Grain storage for the per-friend grains on PostgreSQL that sends concurrent reads, and concurrent writes, of many
/// grains as one statement each (table <c>StepcastGrainState</c>, script 005).
/// </summary>
/// <remarks>
/// Orleans' ADO.NET provider spends one round trip and one commit per grain write. When a campaign or a "day 3 at
/// 10:00" wait wakes a hundred thousand friends together, that is several hundred thousand commits, and PostgreSQL
/// falls minutes behind. Here a write waits only while earlier batches are in flight (a handful at a time); whatever
/// queued meanwhile goes out together, so under load the cost per grain falls, and when idle a write goes at once.
/// Each row keeps its own optimistic check: a batch commits the rows whose version matched and refuses the others
/// with <see cref="InconsistentStateException"/>, exactly as a single write would.
/// </remarks>
/// <para>
/// State that carries a safety net (<see cref="ISafetyNetState"/>, the friends') has it written in the same statement,
/// in column <c>SafetyNetAt</c> (script 006), and <see cref="FindOverdueAsync"/> finds the rows whose time has passed.
/// </para>
public sealed class BatchedPostgresGrainStorage : IGrainStorage, ISafetyNetStore, IAsyncDisposable
{
    private const string ReadSql = $"""
        SELECT t.StateKey, t.Version, t.Payload
        FROM unnest({PostgresBatching.ServiceIdPerKey}, $2::text[]) AS i(ServiceId, StateKey)
        JOIN StepcastGrainState t ON t.ServiceId = i.ServiceId AND t.StateKey = i.StateKey
        """;

    // Rows named with a version update only if it still matches; rows named without one (never stored, or cleared)
    // insert only if absent. The rows returned are the ones written, with their new versions.
    private const string WriteSql = $"""
        WITH input AS (
            SELECT * FROM unnest({PostgresBatching.ServiceIdPerKey}, $2::text[], $3::integer[], $4::bytea[], $5::timestamptz[]) AS i(ServiceId, StateKey, Expected, Payload, SafetyNetAt)
        ),
        updated AS (
            UPDATE StepcastGrainState t
            SET Version = t.Version + 1, Payload = i.Payload, SafetyNetAt = i.SafetyNetAt, ModifiedOn = now()
            FROM input i
            WHERE t.ServiceId = i.ServiceId AND t.StateKey = i.StateKey AND i.Expected IS NOT NULL AND t.Version = i.Expected
            RETURNING t.StateKey, t.Version
        ),
        inserted AS (
            INSERT INTO StepcastGrainState (ServiceId, StateKey, Version, Payload, SafetyNetAt)
            SELECT $1, i.StateKey, 1, i.Payload, i.SafetyNetAt FROM input i WHERE i.Expected IS NULL
            ON CONFLICT DO NOTHING
            RETURNING StateKey, Version
        )
        SELECT StateKey, Version FROM updated
        UNION ALL
        SELECT StateKey, Version FROM inserted
        """;

    private const string ClearSql = """
        UPDATE StepcastGrainState SET Version = Version + 1, Payload = NULL, SafetyNetAt = NULL, ModifiedOn = now()
        WHERE ServiceId = $1 AND StateKey = $2 AND Version = $3
        RETURNING Version
        """;

    // By the partial index of script 006: only rows with a safety net set are in it.
    private const string OverdueSql = """
        SELECT StateKey FROM StepcastGrainState
        WHERE ServiceId = $1 AND SafetyNetAt <= $2
        ORDER BY SafetyNetAt
        LIMIT $3
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _serviceId;
    private readonly Serializer _serializer;
    private readonly StepcastMetrics _metrics;
    private readonly StatementBatcher<PendingRead> _reads;
    private readonly StatementBatcher<PendingWrite> _writes;
    private readonly Func<string, IGrainStorage?>? _formerStoreFor;

    /// <param name="formerStoreFor">
    /// Per state name, where such state was stored before (Orleans' ADO.NET table), read when this table has no row for
    /// a grain, so an existing database moves over grain by grain as each is next written. Null (or a null store) for
    /// state that was never stored elsewhere.
    /// </param>
    public BatchedPostgresGrainStorage(
        string connectionString, string serviceId, Serializer serializer, StepcastMetrics metrics,
        Func<string, IGrainStorage?>? formerStoreFor = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _dataSource = PostgresBatching.CreateDataSource(connectionString);
        _serviceId = serviceId;
        _serializer = serializer;
        _metrics = metrics;
        _formerStoreFor = formerStoreFor;
        _reads = new StatementBatcher<PendingRead>(ExecuteReadsAsync, static read => read.Key, allowSameKey: true);
        _writes = new StatementBatcher<PendingWrite>(ExecuteWritesAsync, static write => write.Key, allowSameKey: false);
    }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var read = new PendingRead(StateKey(stateName, grainId));
        _reads.Enqueue(read);
        var row = await read.Done.Task;
        if (row is null && _formerStoreFor?.Invoke(stateName) is { } formerStore)
        {
            await formerStore.ReadStateAsync(stateName, grainId, grainState);
            // Not in this table yet: the first write inserts the row here.
            grainState.ETag = null;
            return;
        }

        grainState.ETag = row?.Version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = row?.Payload is not null;
        if (row?.Payload is { } payload)
        {
            grainState.State = _serializer.Deserialize<T>(payload);
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        // Straight to an array of the payload's size: the storage serializer's BinaryData grew a buffer from 256 bytes
        // by doubling, then copied it once more (as the embedded store did, see InProcessGrainStorage).
        var safetyNetAt = (grainState.State as ISafetyNetState)?.SafetyNetAt;
        var write = new PendingWrite(
            StateKey(stateName, grainId), ParseVersion(grainState.ETag), _serializer.SerializeToArray(grainState.State), safetyNetAt?.UtcDateTime);
        _writes.Enqueue(write);
        var version = await write.Done.Task;
        grainState.ETag = version.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (ParseVersion(grainState.ETag) is { } version)
        {
            await using var command = _dataSource.CreateCommand(ClearSql);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StateKey(stateName, grainId) });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            if (await command.ExecuteScalarAsync() is not int cleared)
            {
                throw new InconsistentStateException(
                    $"Clearing {stateName} of {grainId}: the stored row is no longer version {version}.", "unknown", grainState.ETag!);
            }

            grainState.ETag = cleared.ToString(CultureInfo.InvariantCulture);
        }

        grainState.RecordExists = false;
    }

    public async Task<IReadOnlyList<GrainId>> FindOverdueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(OverdueSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var overdue = new List<GrainId>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var stateKey = reader.GetString(0);
            overdue.Add(GrainId.Parse(stateKey[..stateKey.LastIndexOf('#')]));
        }

        return overdue;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>The grain id names the grain type, so two types keyed alike never share a row.</summary>
    private static string StateKey(string stateName, GrainId grainId) => $"{grainId}#{stateName}";

    private static int? ParseVersion(string? etag) =>
        etag is null ? null : int.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture);

    private async Task ExecuteReadsAsync(IReadOnlyList<PendingRead> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var keys = batch.Select(r => r.Key).Distinct(StringComparer.Ordinal).ToArray();
        var rows = new Dictionary<string, (int, byte[]?)>(keys.Length, StringComparer.Ordinal);
        await using (var command = _dataSource.CreateCommand(ReadSql))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows[reader.GetString(0)] = (reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2));
            }
        }

        // Counted before the callers resume, so a count read after a write sees it.
        _metrics.StorageBatch("read", batch.Count, Stopwatch.GetElapsedTime(started));

        foreach (var read in batch)
        {
            read.Done.TrySetResult(rows.TryGetValue(read.Key, out var row) ? row : null);
        }
    }

    private async Task ExecuteWritesAsync(IReadOnlyList<PendingWrite> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var written = new Dictionary<string, int>(batch.Count, StringComparer.Ordinal);
        await using (var command = _dataSource.CreateCommand(WriteSql))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(w => w.Key)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter<int?[]> { TypedValue = [.. batch.Select(w => w.ExpectedVersion)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
            command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. batch.Select(w => w.Payload)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
            command.Parameters.Add(new NpgsqlParameter<DateTime?[]> { TypedValue = [.. batch.Select(w => w.SafetyNetAt)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                written[reader.GetString(0)] = reader.GetInt32(1);
            }
        }

        // Counted before the callers resume, so a count read after a write sees it.
        _metrics.StorageBatch("write", batch.Count, Stopwatch.GetElapsedTime(started));

        foreach (var write in batch)
        {
            if (written.TryGetValue(write.Key, out var version))
            {
                write.Done.TrySetResult(version);
            }
            else
            {
                var expected = write.ExpectedVersion?.ToString(CultureInfo.InvariantCulture);
                write.Done.TrySetException(new InconsistentStateException(
                    expected is null
                        ? $"Writing {write.Key}: a row already exists, written by another activation."
                        : $"Writing {write.Key}: the stored row is no longer version {expected}.",
                    storedEtag: "unknown", currentEtag: expected ?? "none"));
            }
        }
    }

    private sealed class PendingRead(string key) : IPendingStatement
    {
        public string Key { get; } = key;
        public TaskCompletionSource<(int Version, byte[]? Payload)?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Fail(Exception exception) => Done.TrySetException(exception);
    }

    private sealed class PendingWrite(string key, int? expectedVersion, byte[] payload, DateTime? safetyNetAt) : IPendingStatement
    {
        public string Key { get; } = key;
        public int? ExpectedVersion { get; } = expectedVersion;
        public byte[] Payload { get; } = payload;
        public DateTime? SafetyNetAt { get; } = safetyNetAt;
        public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Fail(Exception exception) => Done.TrySetException(exception);
    }
}
