using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using Stepcast.Grains.Diagnostics;
using Stepcast.Grains.Friends;
using Stepcast.Silo.Postgres;
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
    public async Task Overlapping_writes_of_a_reentrant_grain_run_one_at_a_time_and_lose_no_change()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var grain = cluster.Client.GetGrain<IReentrantProbeGrain>("U" + Guid.NewGuid().ToString("N"));

        // Two writes at once with the same version would be refused by the store's optimistic check; a write that
        // joined one already under way would leave the last increments unstored.
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => grain.Increment()));

        var storage = cluster.Silos[0].ServiceProvider
            .GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        var stored = new GrainState<ProbeState>();
        await storage.ReadStateAsync("state", grain.GetGrainId(), stored);
        Assert.Equal(50, stored.State?.Count);
        // Writes asked while another was under way joined the one waiting behind it: at most one row version each.
        Assert.InRange(int.Parse(stored.ETag!, System.Globalization.CultureInfo.InvariantCulture), 1, 50);
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

        foreach (var key in keys)
        {
            var friend = cluster.Client.GetGrain<IFriendsProbeGrain>(key);
            await friend.Deactivate();
            Assert.Equal($"friend {key}", (await friend.Read()).Value);
        }

        Assert.Equal(2L, await ScalarAsync<long>(
            "SELECT count(*) FROM OrleansStorage WHERE ServiceId = @id AND GrainIdExtensionString IN ('k:020235', 'k:20235')",
            ("id", cluster.Options.ServiceId)));
        // The friends store names the grain type in each row's key.
        Assert.Equal(2L, await ScalarAsync<long>(
            "SELECT count(*) FROM StepcastGrainState WHERE ServiceId = @id AND StateKey = ANY(@keys)",
            ("id", cluster.Options.ServiceId),
            ("keys", keys.Select(key => $"{cluster.Client.GetGrain<IFriendsProbeGrain>(key).GetGrainId()}#state").ToArray())));
    }

    [Fact]
    public async Task The_friends_store_refuses_stale_and_blind_writes_and_clears_to_the_next_version()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var storage = FriendsStore(cluster, 0);
        var grainId = GrainId.Create("stepcast-test", Guid.NewGuid().ToString("N"));

        var mine = new GrainState<ProbeState>(new ProbeState { Value = "v1" });
        await storage.WriteStateAsync("etag", grainId, mine);
        Assert.Equal("1", mine.ETag);
        var stale = new GrainState<ProbeState>(new ProbeState { Value = "from the past" }, mine.ETag);
        mine.State = new ProbeState { Value = "v2" };
        await storage.WriteStateAsync("etag", grainId, mine);
        Assert.Equal("2", mine.ETag);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("etag", grainId, stale));
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteStateAsync("etag", grainId, new GrainState<ProbeState>(new ProbeState { Value = "blind" })));

        // Read on the other silo, through its own provider.
        var reread = new GrainState<ProbeState>();
        await FriendsStore(cluster, 1).ReadStateAsync("etag", grainId, reread);
        Assert.True(reread.RecordExists);
        Assert.Equal("v2", reread.State?.Value);
        Assert.Equal("2", reread.ETag);

        await storage.ClearStateAsync("etag", grainId, reread);
        Assert.Equal("3", reread.ETag);
        var cleared = new GrainState<ProbeState>();
        await storage.ReadStateAsync("etag", grainId, cleared);
        Assert.False(cleared.RecordExists);
        Assert.Equal("3", cleared.ETag);
        // An activation from before the clear cannot write over it as if the row were new.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("etag", grainId, mine));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("etag", grainId, mine));

        cleared.State = new ProbeState { Value = "v4" };
        await storage.WriteStateAsync("etag", grainId, cleared);
        Assert.Equal("4", cleared.ETag);
    }

    [Fact]
    public async Task The_friends_store_writes_a_burst_of_grains_and_refuses_exactly_the_stale_writes_in_it()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var storage = FriendsStore(cluster, 0);
        var ids = Enumerable.Range(0, 600).Select(i => GrainId.Create("stepcast-test", $"burst-{Guid.NewGuid():N}-{i}")).ToArray();
        var states = ids.Select(id => new GrainState<ProbeState>(new ProbeState { Value = $"first {id}" })).ToArray();

        await Task.WhenAll(ids.Select((id, i) => storage.WriteStateAsync("burst", id, states[i])));
        Assert.All(states, state => Assert.Equal("1", state.ETag));

        // Every tenth writer did not read what is stored (no ETag): those, and only those, are refused.
        var second = ids.Select((id, i) => i % 10 == 0
            ? new GrainState<ProbeState>(new ProbeState { Value = $"blind {id}" })
            : new GrainState<ProbeState>(new ProbeState { Value = $"second {id}" }, states[i].ETag)).ToArray();
        var outcomes = await Task.WhenAll(ids.Select(async (id, i) =>
        {
            try
            {
                await storage.WriteStateAsync("burst", id, second[i]);
                return "written";
            }
            catch (InconsistentStateException)
            {
                return "refused";
            }
        }));
        Assert.Equal(60, outcomes.Count(o => o == "refused"));
        Assert.All(Enumerable.Range(0, ids.Length), i => Assert.Equal(i % 10 == 0 ? "refused" : "written", outcomes[i]));

        var reread = ids.Select(_ => new GrainState<ProbeState>()).ToArray();
        await Task.WhenAll(ids.Select((id, i) => FriendsStore(cluster, 1).ReadStateAsync("burst", id, reread[i])));
        Assert.All(Enumerable.Range(0, ids.Length), i =>
        {
            Assert.Equal(i % 10 == 0 ? $"first {ids[i]}" : $"second {ids[i]}", reread[i].State?.Value);
            Assert.Equal(i % 10 == 0 ? "1" : "2", reread[i].ETag);
        });
    }

    [Fact]
    public async Task Two_writes_of_one_grain_with_the_same_etag_at_once_store_one_and_refuse_the_other()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var storage = FriendsStore(cluster, 0);
        var grainId = GrainId.Create("stepcast-test", Guid.NewGuid().ToString("N"));
        var first = new GrainState<ProbeState>(new ProbeState { Value = "v1" });
        await storage.WriteStateAsync("twice", grainId, first);

        var a = new GrainState<ProbeState>(new ProbeState { Value = "a" }, first.ETag);
        var b = new GrainState<ProbeState>(new ProbeState { Value = "b" }, first.ETag);
        var writes = new[] { storage.WriteStateAsync("twice", grainId, a), storage.WriteStateAsync("twice", grainId, b) };
        var failed = await Assert.ThrowsAsync<InconsistentStateException>(() => Task.WhenAll(writes));

        var stored = new GrainState<ProbeState>();
        await storage.ReadStateAsync("twice", grainId, stored);
        Assert.Equal("2", stored.ETag);
        Assert.Equal(1, writes.Count(w => w.IsCompletedSuccessfully));
        Assert.Equal(writes[0].IsCompletedSuccessfully ? "a" : "b", stored.State?.Value);
        Assert.NotNull(failed);
    }

    [Fact]
    public async Task Moving_from_adonet_the_friends_store_reads_a_friend_it_has_no_row_for_from_the_adonet_table()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var services = cluster.Silos[0].ServiceProvider;
        // The default store is the ADO.NET provider on the same table the friends used before the batched store.
        var adoNet = services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        await using var moving = new BatchedPostgresGrainStorage(
            postgres.ConnectionString, cluster.Options.ServiceId, services.GetRequiredService<Serializer>(),
            services.GetRequiredService<StepcastMetrics>(), formerStoreFor: _ => adoNet);
        var before = GrainId.Create("stepcast-test", Guid.NewGuid().ToString("N"));
        await adoNet.WriteStateAsync("friend", before, new GrainState<ProbeState>(new ProbeState { Value = "stored by ADO.NET" }));

        var read = new GrainState<ProbeState>();
        await moving.ReadStateAsync("friend", before, read);
        Assert.True(read.RecordExists);
        Assert.Equal("stored by ADO.NET", read.State?.Value);
        Assert.Null(read.ETag);

        read.State = new ProbeState { Value = "moved" };
        await moving.WriteStateAsync("friend", before, read);
        Assert.Equal("1", read.ETag);
        var afterMove = new GrainState<ProbeState>();
        await FriendsStore(cluster, 1).ReadStateAsync("friend", before, afterMove);
        Assert.Equal("moved", afterMove.State?.Value);

        var never = new GrainState<ProbeState>();
        await moving.ReadStateAsync("friend", GrainId.Create("stepcast-test", Guid.NewGuid().ToString("N")), never);
        Assert.False(never.RecordExists);
    }

    [Fact]
    public async Task A_directory_bucket_an_earlier_release_kept_in_the_default_store_is_read_there_and_moves_to_the_friends_table()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var adoNet = cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);
        var bucket = FriendDirectory.Bucket(cluster.Client, $"moving-{Guid.NewGuid():N}", 7);
        // As an earlier release left it: the open page in Orleans' ADO.NET table, written by the default store.
        await adoNet.WriteStateAsync(FriendDirectory.BucketStateName, bucket.GetGrainId(),
            new GrainState<FriendDirectoryState>(new FriendDirectoryState { LineUserIds = ["Uold1", "Uold2"] }));

        Assert.Equal(["Uold1", "Uold2"], (await bucket.List(null, 10)).ToArray());
        await bucket.Add("Unew");

        // Read by the other silo's friends store: from its own table this time (a row read from the former store has no ETag).
        var moved = new GrainState<FriendDirectoryState>();
        await FriendsStore(cluster, 1).ReadStateAsync(FriendDirectory.BucketStateName, bucket.GetGrainId(), moved);
        Assert.NotNull(moved.ETag);
        Assert.Equal(["Unew", "Uold1", "Uold2"], moved.State?.LineUserIds);
    }

    [Fact]
    public async Task A_burst_of_writes_shares_statements_and_every_row_is_counted_once_in_the_store_metrics()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        await using var meters = new ServiceCollection().AddMetrics().AddSingleton<StepcastMetrics>().BuildServiceProvider();
        var rows = new List<(string Kind, long Rows)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "stepcast.storage.batch.rows" && instrument.Meter.Scope == meters.GetRequiredService<IMeterFactory>())
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (rows)
            {
                rows.Add(((string)tags[0].Value!, value));
            }
        });
        listener.Start();
        await using var store = new BatchedPostgresGrainStorage(
            postgres.ConnectionString, cluster.Options.ServiceId,
            cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>(),
            meters.GetRequiredService<StepcastMetrics>());

        var ids = Enumerable.Range(0, 300).Select(i => GrainId.Create("stepcast-test", $"metrics-{Guid.NewGuid():N}-{i}")).ToArray();
        await Task.WhenAll(ids.Select(id => store.WriteStateAsync("metrics", id, new GrainState<ProbeState>(new ProbeState { Value = "x" }))));

        List<(string Kind, long Rows)> writes;
        lock (rows)
        {
            writes = [.. rows.Where(r => r.Kind == "write")];
        }

        Assert.Equal(300, writes.Sum(w => w.Rows));
        // At most four statements run at once, so 300 writes issued together cannot each have had their own.
        Assert.True(writes.Count < 300, $"{writes.Count} statements for 300 writes");
        Assert.True(writes.Max(w => w.Rows) <= PostgresBatching.MaxBatchSize);
    }

    private static IGrainStorage FriendsStore(InProcessTestCluster cluster, int silo) =>
        cluster.Silos[silo].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(PostgresOrleansExtensions.FriendsStorageName);

    [Fact]
    public async Task The_friends_store_keeps_each_rows_safety_net_and_finds_exactly_the_overdue_ones()
    {
        var cluster = await clusterFixture.StartAsync(postgres);
        var storage = FriendsStore(cluster, 0);
        var sweepable = Assert.IsAssignableFrom<ISafetyNetStore>(storage);
        // Far in the future, so rows of other tests (set to now and a period on) are never overdue at these times.
        var now = new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 4).Select(_ => GrainId.Create("stepcast-test", Guid.NewGuid().ToString("N"))).ToArray();
        var states = new[] { now.AddMinutes(-2), now.AddMinutes(-1), now.AddHours(1), (DateTimeOffset?)null }
            .Select(at => new GrainState<SafetyNetProbeState>(new SafetyNetProbeState { Value = "v1", SafetyNetAt = at })).ToArray();
        await Task.WhenAll(ids.Select((id, i) => storage.WriteStateAsync("net", id, states[i])));

        var overdue = (await sweepable.FindOverdueAsync(now, 10_000, CancellationToken.None)).Where(ids.Contains).ToArray();
        Assert.Equal([ids[0], ids[1]], overdue); // earliest first; the later and the unset one not at all
        Assert.Equal([ids[0]], (await sweepable.FindOverdueAsync(now.AddSeconds(-90), 10_000, CancellationToken.None)).Where(ids.Contains));

        // A write without one (the step ran) takes it away; clearing the state too.
        states[0].State!.SafetyNetAt = null;
        await storage.WriteStateAsync("net", ids[0], states[0]);
        await storage.ClearStateAsync("net", ids[2], states[2]);
        Assert.Equal([ids[1]], (await sweepable.FindOverdueAsync(now.AddHours(2), 10_000, CancellationToken.None)).Where(ids.Contains));

        // The payload is the same with or without one: what reads it back sees only the state.
        var reread = new GrainState<SafetyNetProbeState>();
        await storage.ReadStateAsync("net", ids[1], reread);
        Assert.Equal("v1", reread.State!.Value);
        Assert.Null(reread.State.SafetyNetAt);
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
