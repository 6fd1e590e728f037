using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Silo;
using Stepcast.Silo.Postgres;
using Stepcast.Tests.Infrastructure;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Postgres;

/// <summary>
/// What a welcomed follow costs PostgreSQL, the bound on ingest there: the friend's row is written when the follow is
/// accepted and once more when the welcome's outcome is known, also when the welcome goes out in a multicast
/// (its batch id is stored with the follow). The row's version counts the writes.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WritesPerFollowTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly SandboxDeliveryRecorder _deliveries = new(TimeProvider.System);
    private InProcessTestCluster _cluster = null!;
    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        var connectionString = _connectionString = await postgres.CreateDatabaseAsync($"writes_{Guid.NewGuid():N}");
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString))
        {
            await PostgresSchema.ApplyAsync(dataSource, CancellationToken.None);
        }

        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.UseStepcastPostgresStorageAndReminders(connectionString);
            silo.Services.AddSingleton(_deliveries);
            // Real time and the default multicast window: friends following together share a multicast.
            silo.AddStepcastEngineServices(new ConfigurationBuilder().Build());
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_follow_welcomed_in_a_multicast_writes_the_friend_twice()
    {
        const string channel = "writes";
        var scenario = _cluster.Client.GetGrain<IScenarioGrain>(ScenarioKey.Format(channel, "welcome"));
        Assert.Empty(await scenario.SaveDraft(Define(channel, "welcome", new FollowTrigger(),
            Send("hello", "Welcome!"),
            new WaitStep { Id = "week", Days = 7 },
            Send("coupon", "A coupon for your second visit"))));
        Assert.True((await scenario.Publish()).Published);
        var friends = Enumerable.Range(1, 40).Select(i => $"W{i:D3}").ToArray();

        var at = DateTimeOffset.UtcNow;
        await Task.WhenAll(friends.Select(id =>
            _cluster.Client.GetFriend(channel, id).Follow(new FollowCommand { At = at, EventId = $"follow-{id}" })));

        // A snapshot waits for the friend's run in progress, so a friend waiting for its coupon has stored the welcome.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var id in friends)
        {
            while ((await _cluster.Client.GetFriend(channel, id).GetSnapshot()).Enrollments.Single().StepId != "coupon")
            {
                Assert.True(DateTime.UtcNow < deadline, $"{id} was not welcomed within a minute");
                await Task.Delay(100);
            }
        }

        var welcomes = _deliveries.Deliveries.Where(d => d.ChannelId == channel).ToList();
        Assert.Equal(friends.Order(), welcomes.Select(d => d.LineUserId).Order());
        var inMulticasts = welcomes.GroupBy(d => d.RetryKey).Where(g => g.Count() > 1).SelectMany(g => g).Select(d => d.LineUserId).ToHashSet();
        // Forty follows at once fill one 250 ms window; a friend that ended up alone in the next one pushes instead.
        Assert.True(inMulticasts.Count >= friends.Length / 2, $"only {inMulticasts.Count} of {friends.Length} welcomed in multicasts");

        var versions = await FriendRowVersionsAsync(channel);
        Assert.Equal(friends.Length, versions.Count);
        Assert.All(inMulticasts, id => Assert.True(versions[id] == 2, $"{id}: {versions[id]} writes"));
        // Alone in its window: the choice to push alone is stored before the push, which costs a write of its own.
        Assert.All(friends.Except(inMulticasts), id => Assert.InRange(versions[id], 2, 3));
    }

    private async Task<Dictionary<string, int>> FriendRowVersionsAsync(string channel)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(_connectionString);
        await using var command = dataSource.CreateCommand("SELECT statekey, version FROM stepcastgrainstate WHERE statekey LIKE $1");
        command.Parameters.AddWithValue($"friend/{channel}/%#friend");
        var versions = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var key = reader.GetString(0);
            var friendKey = key[..key.IndexOf('#', StringComparison.Ordinal)];
            versions[friendKey[(friendKey.LastIndexOf('/') + 1)..]] = reader.GetInt32(1);
        }

        return versions;
    }
}
