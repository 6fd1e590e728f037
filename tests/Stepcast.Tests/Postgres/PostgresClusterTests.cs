using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.TestingHost;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Postgres;

[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterTests(PostgresServer postgres, PostgresClusterFixture clusterFixture)
    : IClassFixture<PostgresClusterFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Both_silos_are_active_in_the_membership_table()
    {
        var cluster = await clusterFixture.StartAsync(postgres);

        var active = await PollAsync(
            () => ScalarAsync<long>(
                "SELECT count(*) FROM OrleansMembershipTable WHERE DeploymentId = @id AND Status = 3",
                ("id", cluster.Options.ClusterId)),
            count => count == 2);

        Assert.Equal(2, active);
        Assert.Equal(1L, await ScalarAsync<long>(
            "SELECT count(*) FROM OrleansMembershipVersionTable WHERE DeploymentId = @id AND Version >= 2",
            ("id", cluster.Options.ClusterId)));
    }

    [Fact]
    public async Task State_written_on_one_silo_is_read_back_after_deactivation_and_by_the_other_silo()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var grain = cluster.Client.GetGrain<IProbeGrain>("U" + Guid.NewGuid().ToString("N"));

        await grain.Write("hello");
        var written = await grain.Read();
        await grain.Deactivate();
        await Task.Delay(100);
        var reactivated = await grain.Read();

        Assert.NotEqual(written.Activation, reactivated.Activation);
        Assert.Equal("hello", reactivated.Value);

        // Placement kept reactivating on the gateway silo in this in-process setup, so the other silo
        // reads through its own storage provider: the exact call an activation there would make.
        var otherSilo = cluster.Silos.Single(s => s.SiloAddress.ToString() != written.Silo);
        var storage = otherSilo.ServiceProvider
            .GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        var onOtherSilo = new GrainState<ProbeState>();
        await storage.ReadStateAsync("state", grain.GetGrainId(), onOtherSilo);

        Assert.True(onOtherSilo.RecordExists);
        Assert.Equal("hello", onOtherSilo.State?.Value);
        Assert.Equal("1", onOtherSilo.ETag);
    }

    [Fact]
    public async Task Grain_types_sharing_a_key_and_state_name_keep_separate_rows()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        // "020235" is the key the stock provider confuses with "20235" (dotnet/orleans#9706).
        string[] keys = ["020235", "20235"];

        foreach (var key in keys)
        {
            await cluster.Client.GetGrain<IProbeGrain>(key).Write($"probe {key}");
            await cluster.Client.GetGrain<IFriendsProbeGrain>(key).Write($"friend {key}");
        }

        foreach (var key in keys)
        {
            var probe = cluster.Client.GetGrain<IProbeGrain>(key);
            await probe.Deactivate();
            Assert.Equal($"probe {key}", (await probe.Read()).Value);
        }

        Assert.Equal(4L, await ScalarAsync<long>(
            "SELECT count(*) FROM OrleansStorage WHERE ServiceId = @id AND GrainIdExtensionString IN ('k:020235', 'k:20235')",
            ("id", cluster.Options.ServiceId)));
    }

    [Fact]
    public async Task A_write_with_a_stale_etag_is_rejected()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var storage = cluster.Silos[0].ServiceProvider
            .GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        var grainId = GrainId.Create("stepcast-test", Guid.NewGuid().ToString("N"));

        var mine = new GrainState<ProbeState>(new ProbeState { Value = "v1" });
        await storage.WriteStateAsync("etag", grainId, mine);
        var stale = new GrainState<ProbeState>(new ProbeState { Value = "from the past" }, mine.ETag);
        Assert.Equal("1", mine.ETag);
        mine.State = new ProbeState { Value = "v2" };
        await storage.WriteStateAsync("etag", grainId, mine);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("etag", grainId, stale));
        // A second writer that never read the row must not overwrite it either.
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteStateAsync("etag", grainId, new GrainState<ProbeState>(new ProbeState { Value = "blind" })));

        var reread = new GrainState<ProbeState>();
        await storage.ReadStateAsync("etag", grainId, reread);
        Assert.Equal("v2", reread.State?.Value);
        Assert.Equal(mine.ETag, reread.ETag);
        Assert.Equal("2", reread.ETag);
    }

    [Fact]
    public async Task Clearing_state_keeps_the_version_sequence()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var storage = cluster.Silos[1].ServiceProvider
            .GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        var grainId = GrainId.Create("stepcast-test", Guid.NewGuid().ToString("N"));

        var state = new GrainState<ProbeState>(new ProbeState { Value = "v1" });
        await storage.WriteStateAsync("clear", grainId, state);
        await storage.ClearStateAsync("clear", grainId, state);

        var reread = new GrainState<ProbeState>();
        await storage.ReadStateAsync("clear", grainId, reread);
        Assert.False(reread.RecordExists);
        Assert.Null(reread.State?.Value);
        Assert.Equal("2", reread.ETag);

        reread.State = new ProbeState { Value = "v3" };
        await storage.WriteStateAsync("clear", grainId, reread);
        Assert.Equal("3", reread.ETag);
    }

    [Fact]
    public async Task A_registered_reminder_fires_and_is_stored()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var key = "U" + Guid.NewGuid().ToString("N");
        var ticked = ProbeGrain.Ticks.GetOrAdd((key, "wake"), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var grain = cluster.Client.GetGrain<IProbeGrain>(key);

        await grain.ArmReminder("wake", dueTime: TimeSpan.FromSeconds(1), period: TimeSpan.FromMinutes(10));

        await ticked.Task.WaitAsync(Patience);
        Assert.Equal(1L, await ScalarAsync<long>(
            "SELECT count(*) FROM OrleansRemindersTable WHERE ServiceId = @id AND ReminderName = 'wake' AND GrainId LIKE @grain",
            ("id", cluster.Options.ServiceId), ("grain", "%" + key)));

        await grain.DisarmReminder("wake");
        Assert.Equal(0L, await ScalarAsync<long>(
            "SELECT count(*) FROM OrleansRemindersTable WHERE ServiceId = @id AND GrainId LIKE @grain",
            ("id", cluster.Options.ServiceId), ("grain", "%" + key)));
    }

    private async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(200);
        }
    }
}
