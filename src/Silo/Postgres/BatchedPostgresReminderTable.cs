using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Orleans.Runtime;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Silo.Postgres;

/// <summary>
/// Orleans' reminder table on PostgreSQL, sending the upserts, removals and single-row reads of many grains as one
/// statement each. It keeps the rows of Orleans' ADO.NET reminder provider (table <c>OrleansRemindersTable</c>, script
/// 003) with the same meaning: the ETag is the row's version, an upsert moves it on by one, a removal names it.
/// </summary>
/// <remarks>
/// Every friend with a step ahead has one reminder, and a follow whose welcome goes out at once writes it twice
/// (registered as the safety net for the send, then moved to the next step). With one statement and commit each,
/// the reminder table was the largest cost per follow left on PostgreSQL. Because the rows are the ADO.NET provider's,
/// silos on either provider can share one database: switching needs no migration, and a rolling switch is safe.
/// </remarks>
public sealed class BatchedPostgresReminderTable : IReminderTable, IAsyncDisposable
{
    private const string Columns = "GrainId, ReminderName, StartTime, Period, Version";

    // Rows are sorted by key before they go out, so two statements in flight lock rows in one order.
    private const string UpsertSql = """
        INSERT INTO OrleansRemindersTable AS r (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
        SELECT $1, i.GrainId, i.ReminderName, i.StartTime, i.Period, i.GrainHash, 0
        FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::integer[])
            AS i(GrainId, ReminderName, StartTime, Period, GrainHash)
        ON CONFLICT ON CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName DO UPDATE
        SET StartTime = EXCLUDED.StartTime, Period = EXCLUDED.Period, GrainHash = EXCLUDED.GrainHash, Version = r.Version + 1
        RETURNING r.GrainId, r.ReminderName, r.Version
        """;

    // Joined to a batch on the whole primary key (see PostgresBatching.ServiceIdPerKey), and on the grain hash too: the
    // table's other index starts with the service id, and a plan made while the table was empty took it with the service
    // id as its only condition, reading every reminder of the service for each row named. With the hash, either index
    // finds the row at once (BatchedStatementPlanTests).
    private const string RemoveSql = $"""
        DELETE FROM OrleansRemindersTable t
        USING unnest({PostgresBatching.ServiceIdPerKey}, $2::text[], $3::text[], $4::integer[], $5::integer[]) AS i(ServiceId, GrainId, ReminderName, Version, GrainHash)
        WHERE t.ServiceId = i.ServiceId AND t.GrainHash = i.GrainHash AND t.GrainId = i.GrainId AND t.ReminderName = i.ReminderName AND t.Version = i.Version
        RETURNING t.GrainId, t.ReminderName
        """;

    private const string ReadRowsSql = $"""
        SELECT t.GrainId, t.ReminderName, t.StartTime, t.Period, t.Version FROM OrleansRemindersTable t
        JOIN unnest({PostgresBatching.ServiceIdPerKey}, $2::text[], $3::text[], $4::integer[]) AS i(ServiceId, GrainId, ReminderName, GrainHash)
            ON t.ServiceId = i.ServiceId AND t.GrainHash = i.GrainHash AND t.GrainId = i.GrainId AND t.ReminderName = i.ReminderName
        """;

    private const string ReadGrainSql = $"SELECT {Columns} FROM OrleansRemindersTable WHERE ServiceId = $1 AND GrainId = $2";

    // The ring range (begin, end] of uniform hashes, stored as signed integers as the ADO.NET provider stores them:
    // the cast keeps the order of a range that does not wrap, and turns one that wraps into the two ends of the line.
    private const string ReadRangeSql = $"SELECT {Columns} FROM OrleansRemindersTable WHERE ServiceId = $1 AND GrainHash > $2 AND GrainHash <= $3";
    private const string ReadWrappedRangeSql = $"SELECT {Columns} FROM OrleansRemindersTable WHERE ServiceId = $1 AND (GrainHash > $2 OR GrainHash <= $3)";

    private const string ClearSql = "DELETE FROM OrleansRemindersTable WHERE ServiceId = $1";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _serviceId;
    private readonly StepcastMetrics _metrics;
    private readonly StatementBatcher<PendingUpsert> _upserts;
    private readonly StatementBatcher<PendingRemove> _removes;
    private readonly StatementBatcher<PendingRead> _reads;

    public BatchedPostgresReminderTable(string connectionString, string serviceId, StepcastMetrics metrics)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _dataSource = PostgresBatching.CreateDataSource(connectionString);
        _serviceId = serviceId;
        _metrics = metrics;
        // A grain waits for each reminder call before its next, so one key never has two calls queued; the check
        // keeps a statement from naming a row twice (an upsert cannot update one row twice) whatever a caller does.
        _upserts = new StatementBatcher<PendingUpsert>(ExecuteUpsertsAsync, static upsert => upsert.Key, allowSameKey: false);
        _removes = new StatementBatcher<PendingRemove>(ExecuteRemovesAsync, static remove => remove.Key, allowSameKey: false);
        _reads = new StatementBatcher<PendingRead>(ExecuteReadsAsync, static read => read.Key, allowSameKey: true);
    }

    public Task Init() => Task.CompletedTask;

    /// <returns>Null when the grain has no such reminder.</returns>
    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        var read = new PendingRead(grainId.ToString(), reminderName, HashOf(grainId));
        _reads.Enqueue(read);
        return read.Done.Task;
    }

    public async Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        await using var command = _dataSource.CreateCommand(ReadGrainSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId.ToString() });
        return new ReminderTableData(await ReadEntriesAsync(command));
    }

    public async Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        var (from, to) = (unchecked((int)begin), unchecked((int)end));
        await using var command = _dataSource.CreateCommand(from < to ? ReadRangeSql : ReadWrappedRangeSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = to });
        return new ReminderTableData(await ReadEntriesAsync(command));
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var upsert = new PendingUpsert(entry, entry.GrainId.ToString());
        _upserts.Enqueue(upsert);
        var version = await upsert.Done.Task;
        return version.ToString(CultureInfo.InvariantCulture);
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        // An ETag this table never issued matches no row, as a stale one would not.
        if (!int.TryParse(eTag, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return false;
        }

        var remove = new PendingRemove(grainId.ToString(), reminderName, version, HashOf(grainId));
        _removes.Enqueue(remove);
        return await remove.Done.Task;
    }

    public async Task TestOnlyClearTable()
    {
        await using var command = _dataSource.CreateCommand(ClearSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
        await command.ExecuteNonQueryAsync();
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static string KeyOf(string grainId, string reminderName) => grainId + "\n" + reminderName;

    private static async Task<List<ReminderEntry>> ReadEntriesAsync(NpgsqlCommand command)
    {
        var entries = new List<ReminderEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = reader.GetFieldValue<DateTime>(2),
                Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
                ETag = reader.GetInt32(4).ToString(CultureInfo.InvariantCulture),
            });
        }

        return entries;
    }

    private async Task ExecuteUpsertsAsync(IReadOnlyList<PendingUpsert> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var rows = batch.OrderBy(u => u.Key, StringComparer.Ordinal).ToArray();
        var versions = new Dictionary<string, int>(rows.Length, StringComparer.Ordinal);
        await using (var command = _dataSource.CreateCommand(UpsertSql))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
            command.Parameters.Add(TextArray(rows.Select(u => u.GrainId)));
            command.Parameters.Add(TextArray(rows.Select(u => u.Entry.ReminderName)));
            command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. rows.Select(u => AsUtc(u.Entry.StartAt))], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(u => (long)u.Entry.Period.TotalMilliseconds)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            command.Parameters.Add(IntegerArray(rows.Select(u => HashOf(u.Entry.GrainId))));
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                versions[KeyOf(reader.GetString(0), reader.GetString(1))] = reader.GetInt32(2);
            }
        }

        // Counted before the callers resume, so a count read after a write sees it.
        _metrics.StorageBatch("reminder-write", batch.Count, Stopwatch.GetElapsedTime(started));

        foreach (var upsert in batch)
        {
            if (versions.TryGetValue(upsert.Key, out var version))
            {
                upsert.Done.TrySetResult(version);
            }
            else
            {
                upsert.Done.TrySetException(new InvalidOperationException($"Upserting reminder {upsert.Key}: PostgreSQL returned no row for it."));
            }
        }
    }

    private async Task ExecuteRemovesAsync(IReadOnlyList<PendingRemove> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var rows = batch.OrderBy(r => r.Key, StringComparer.Ordinal).ToArray();
        var removed = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = _dataSource.CreateCommand(RemoveSql))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
            command.Parameters.Add(TextArray(rows.Select(r => r.GrainId)));
            command.Parameters.Add(TextArray(rows.Select(r => r.ReminderName)));
            command.Parameters.Add(IntegerArray(rows.Select(r => r.Version)));
            command.Parameters.Add(IntegerArray(rows.Select(r => r.GrainHash)));
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                removed.Add(KeyOf(reader.GetString(0), reader.GetString(1)));
            }
        }

        // Counted before the callers resume, so a count read after a write sees it.
        _metrics.StorageBatch("reminder-write", batch.Count, Stopwatch.GetElapsedTime(started));

        foreach (var remove in batch)
        {
            remove.Done.TrySetResult(removed.Contains(remove.Key));
        }
    }

    private async Task ExecuteReadsAsync(IReadOnlyList<PendingRead> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var keys = batch.DistinctBy(r => r.Key, StringComparer.Ordinal).ToArray();
        List<ReminderEntry> entries;
        await using (var command = _dataSource.CreateCommand(ReadRowsSql))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _serviceId });
            command.Parameters.Add(TextArray(keys.Select(r => r.GrainId)));
            command.Parameters.Add(TextArray(keys.Select(r => r.ReminderName)));
            command.Parameters.Add(IntegerArray(keys.Select(r => r.GrainHash)));
            entries = await ReadEntriesAsync(command);
        }

        // Counted before the callers resume, so a count read after a write sees it.
        _metrics.StorageBatch("reminder-read", batch.Count, Stopwatch.GetElapsedTime(started));

        var found = entries.ToDictionary(e => KeyOf(e.GrainId.ToString(), e.ReminderName), StringComparer.Ordinal);
        foreach (var read in batch)
        {
            // Each caller gets an entry of its own: Orleans keeps the ones it is given.
            read.Done.TrySetResult(found.TryGetValue(read.Key, out var entry)
                ? new ReminderEntry { GrainId = entry.GrainId, ReminderName = entry.ReminderName, StartAt = entry.StartAt, Period = entry.Period, ETag = entry.ETag }
                : null);
        }
    }

    /// <summary>The ring position Orleans' ADO.NET provider stores for a grain, as a signed integer.</summary>
    private static int HashOf(GrainId grainId) => unchecked((int)grainId.GetUniformHashCode());

    private static NpgsqlParameter<int[]> IntegerArray(IEnumerable<int> values) =>
        new() { TypedValue = [.. values], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer };

    private static NpgsqlParameter<string[]> TextArray(IEnumerable<string> values) =>
        new() { TypedValue = [.. values], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static DateTime AsUtc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };

    private sealed class PendingUpsert(ReminderEntry entry, string grainId) : IPendingStatement
    {
        public ReminderEntry Entry { get; } = entry;
        public string GrainId { get; } = grainId;
        public string Key { get; } = KeyOf(grainId, entry.ReminderName);
        public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Fail(Exception exception) => Done.TrySetException(exception);
    }

    private sealed class PendingRemove(string grainId, string reminderName, int version, int grainHash) : IPendingStatement
    {
        public string GrainId { get; } = grainId;
        public int GrainHash { get; } = grainHash;
        public string ReminderName { get; } = reminderName;
        public int Version { get; } = version;
        public string Key { get; } = KeyOf(grainId, reminderName);
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Fail(Exception exception) => Done.TrySetException(exception);
    }

    private sealed class PendingRead(string grainId, string reminderName, int grainHash) : IPendingStatement
    {
        public string GrainId { get; } = grainId;
        public int GrainHash { get; } = grainHash;
        public string ReminderName { get; } = reminderName;
        public string Key { get; } = KeyOf(grainId, reminderName);
        public TaskCompletionSource<ReminderEntry?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Fail(Exception exception) => Done.TrySetException(exception);
    }
}
