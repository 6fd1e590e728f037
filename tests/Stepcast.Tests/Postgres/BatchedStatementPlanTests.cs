using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using Stepcast.Grains.Diagnostics;
using Stepcast.Silo.Postgres;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Postgres;

/// <summary>
/// A batched statement reads the rows its batch names and no others, even while PostgreSQL has no statistics for the
/// table yet (a new database, its first minute). Joined to the batch alone, the planner guessed from the service id
/// that few rows were stored, scanned every row of the service for each batch, and a fresh database sustained half
/// the ingest of one that had been analysed (benchmarks/history.md). Counted in tuples read, not timed.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class BatchedStatementPlanTests(PostgresServer postgres) : IAsyncLifetime
{
    private const string ServiceId = "plans";
    private const int StoredRows = 20_000;
    private string _connectionString = "";
    private NpgsqlDataSource _dataSource = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await postgres.CreateDatabaseAsync($"plans_{Guid.NewGuid():N}");
        _dataSource = NpgsqlDataSource.Create(_connectionString);
        await PostgresSchema.ApplyAsync(_dataSource, CancellationToken.None);
        _services = new ServiceCollection().AddSerializer().AddMetrics().AddSingleton<StepcastMetrics>().BuildServiceProvider();
    }

    [Fact]
    public async Task A_batch_of_friend_state_writes_reads_only_its_own_rows_before_the_table_has_statistics()
    {
        await ExecuteAsync($"""
            INSERT INTO StepcastGrainState (ServiceId, StateKey, Version, Payload)
            SELECT '{ServiceId}', 'friend/plans/U' || g || '#friend', 1, '\x00'::bytea FROM generate_series(1, {StoredRows}) g
            """);
        var before = await TuplesReadAsync("stepcastgrainstate");

        await using (var store = new BatchedPostgresGrainStorage(
            _connectionString, ServiceId, _services.GetRequiredService<Serializer>(),
            _services.GetRequiredService<StepcastMetrics>()))
        {
            await Task.WhenAll(Enumerable.Range(1, 40).Select(i => store.WriteStateAsync(
                "friend", GrainId.Create("friend", $"plans/U{i}"), new GrainState<string>("written") { ETag = "1" })));
        }

        await AssertFewTuplesReadAsync("stepcastgrainstate", before);
    }

    [Fact]
    public async Task A_batch_of_reminder_reads_and_removals_reads_only_its_own_rows_before_the_table_has_statistics()
    {
        await ExecuteAsync($"""
            INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
            SELECT '{ServiceId}', 'friend/plans/V' || g, 'wake-up', now(), 60000, g, 0 FROM generate_series(1, {StoredRows}) g
            """);

        long before;
        await using (var table = new BatchedPostgresReminderTable(_connectionString, ServiceId, _services.GetRequiredService<StepcastMetrics>()))
        {
            // Stored through the table, which knows each grain's ring hash.
            var grains = Enumerable.Range(1, 40).Select(i => GrainId.Create("friend", $"plans/U{i}")).ToArray();
            var eTags = await Task.WhenAll(grains.Select(grain => table.UpsertRow(Reminder(grain))));
            before = await TuplesReadAsync("orleansreminderstable");

            var read = await Task.WhenAll(grains.Select(grain => table.ReadRow(grain, "wake-up")));
            Assert.All(read, Assert.NotNull);
            Assert.All(await Task.WhenAll(grains.Select((grain, i) => table.RemoveRow(grain, "wake-up", eTags[i]!))), Assert.True);
        }

        await AssertFewTuplesReadAsync("orleansreminderstable", before);
    }

    /// <summary>
    /// The stores' statements are prepared on each connection and keep the plan made at their first use (generic
    /// plans): one made while the table was empty must still look rows up by key once the table is full.
    /// </summary>
    [Fact]
    public async Task A_statement_prepared_while_the_table_was_empty_reads_only_its_own_rows_once_the_table_is_full()
    {
        long before;
        await using (var store = new BatchedPostgresGrainStorage(
            _connectionString, ServiceId, _services.GetRequiredService<Serializer>(),
            _services.GetRequiredService<StepcastMetrics>()))
        {
            // One at a time, so the same few connections run the statements often enough to prepare them.
            for (var i = 1; i <= 40; i++)
            {
                await store.WriteStateAsync("friend", GrainId.Create("friend", $"plans/U{i}"), new GrainState<string>("first"));
                await store.ReadStateAsync("friend", GrainId.Create("friend", $"plans/U{i}"), new GrainState<string>());
            }

            await ExecuteAsync($"""
                INSERT INTO StepcastGrainState (ServiceId, StateKey, Version, Payload)
                SELECT '{ServiceId}', 'friend/plans/V' || g || '#friend', 1, '\x00'::bytea FROM generate_series(1, {StoredRows}) g
                """);
            before = await TuplesReadAsync("stepcastgrainstate");

            var grains = Enumerable.Range(1, 40).Select(i => GrainId.Create("friend", $"plans/U{i}")).ToArray();
            await Task.WhenAll(grains.Select(grain => store.WriteStateAsync("friend", grain, new GrainState<string>("second") { ETag = "1" })));
            var read = grains.Select(_ => new GrainState<string>()).ToArray();
            await Task.WhenAll(grains.Select((grain, i) => store.ReadStateAsync("friend", grain, read[i])));
            Assert.All(read, state => Assert.Equal("second", state.State));
        }

        await AssertFewTuplesReadAsync("stepcastgrainstate", before);
    }

    /// <summary>
    /// The reminder table has a second index that starts with the service id (the ring's grain hash): a removal or read
    /// planned while the table was empty took it, with the service id alone as its condition, and scanned every
    /// reminder of the service for each row it named. Harmless while removals were rare; once every welcomed follow
    /// removed its safety-net reminder (its wait moved to a wake slot) it was most of PostgreSQL's time at ingest.
    /// </summary>
    [Fact]
    public async Task A_reminder_removal_prepared_while_the_table_was_empty_reads_only_its_own_rows_once_the_table_is_full()
    {
        long before;
        await using (var table = new BatchedPostgresReminderTable(_connectionString, ServiceId, _services.GetRequiredService<StepcastMetrics>()))
        {
            // One at a time, so the same few connections run the statements often enough to prepare them.
            for (var i = 1; i <= 40; i++)
            {
                var grain = GrainId.Create("friend", $"plans/E{i}");
                var eTag = await table.UpsertRow(Reminder(grain));
                Assert.NotNull(await table.ReadRow(grain, "wake-up"));
                Assert.True(await table.RemoveRow(grain, "wake-up", eTag!));
            }

            await ExecuteAsync($"""
                INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
                SELECT '{ServiceId}', 'friend/plans/V' || g, 'wake-up', now(), 60000, g, 0 FROM generate_series(1, {StoredRows}) g
                """);
            before = await TuplesReadAsync("orleansreminderstable");

            var grains = Enumerable.Range(1, 40).Select(i => GrainId.Create("friend", $"plans/F{i}")).ToArray();
            var eTags = await Task.WhenAll(grains.Select(grain => table.UpsertRow(Reminder(grain))));
            Assert.All(await Task.WhenAll(grains.Select(grain => table.ReadRow(grain, "wake-up"))), Assert.NotNull);
            Assert.All(await Task.WhenAll(grains.Select((grain, i) => table.RemoveRow(grain, "wake-up", eTags[i]!))), Assert.True);
        }

        await AssertFewTuplesReadAsync("orleansreminderstable", before);
    }

    private static ReminderEntry Reminder(GrainId grain) => new()
    {
        GrainId = grain, ReminderName = "wake-up", StartAt = DateTime.UtcNow.AddDays(1), Period = TimeSpan.FromMinutes(1),
    };

    /// <summary>
    /// A backend reports its counts when it exits (the store's connections close with it), so wait for them to show.
    /// 40 rows named: an index lookup each reads a few tuples; a scan of the service reads all 20,000 per statement.
    /// </summary>
    private async Task AssertFewTuplesReadAsync(string table, long before)
    {
        var after = await Eventually.UntilAsync(() => TuplesReadAsync(table), read => read > before, TimeSpan.FromSeconds(10));
        await using var detail = _dataSource.CreateCommand(
            "SELECT format('seq %s/%s idx %s/%s', seq_scan, seq_tup_read, idx_scan, idx_tup_fetch) FROM pg_stat_user_tables WHERE relname = $1");
        detail.Parameters.AddWithValue(table);
        Assert.True(after - before < 1_000, $"{after - before} tuples of {table} read for a batch naming 40 of its {StoredRows} rows ({await detail.ExecuteScalarAsync()})");
    }

    private async Task<long> TuplesReadAsync(string table)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relname = $1");
        command.Parameters.AddWithValue(table);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _services.DisposeAsync();
    }
}
