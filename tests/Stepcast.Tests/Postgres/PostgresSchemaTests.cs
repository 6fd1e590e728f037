using Npgsql;
using Stepcast.Silo.Postgres;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Postgres;

[Collection(PostgresCollection.Name)]
public sealed class PostgresSchemaTests(PostgresServer postgres)
{
    [Fact]
    public async Task Applying_the_schema_twice_changes_nothing_the_second_time()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync(UniqueDatabaseName()));

        var first = await PostgresSchema.ApplyAsync(dataSource, CancellationToken.None);
        var queriesAfterFirst = await QueryKeysAsync(dataSource);
        var second = await PostgresSchema.ApplyAsync(dataSource, CancellationToken.None);

        Assert.Equal(PostgresSchema.Scripts.Select(s => s.Name), first.Select(r => r.Name));
        Assert.All(first, r => Assert.True(r.Applied, r.Name));
        Assert.All(second, r => Assert.False(r.Applied, r.Name));
        Assert.Equal(queriesAfterFirst, await QueryKeysAsync(dataSource));
    }

    [Fact]
    public async Task Silos_applying_the_schema_at_the_same_time_apply_each_script_once()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync(UniqueDatabaseName()));

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresSchema.ApplyAsync(dataSource, CancellationToken.None)));

        foreach (var script in PostgresSchema.Scripts)
        {
            Assert.Equal(1, runs.Count(run => run.Single(r => r.Name == script.Name).Applied));
        }
    }

    [Fact]
    public async Task Every_query_the_Orleans_providers_require_is_present()
    {
        string[] required =
        [
            // Clustering
            "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey",
            "UpdateIAmAlivetimeKey", "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey",
            "CleanupDefunctSiloEntriesKey",
            // Grain storage
            "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey",
            // Reminders
            "ReadReminderRowsKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey",
            "UpsertReminderRowKey", "DeleteReminderRowKey", "DeleteReminderRowsKey",
        ];

        var present = await QueryKeysAsync(postgres.DataSource);

        Assert.Empty(required.Except(present));
    }

    private static string UniqueDatabaseName() => "schema_" + Guid.NewGuid().ToString("N")[..12];

    private static async Task<List<string>> QueryKeysAsync(NpgsqlDataSource dataSource)
    {
        var keys = new List<string>();
        await using var command = dataSource.CreateCommand("SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }
}
