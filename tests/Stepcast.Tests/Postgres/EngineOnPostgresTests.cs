using System.Collections.Immutable;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Reminders;
using Orleans.TestingHost;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;
using Stepcast.Silo;
using Stepcast.Silo.Postgres;
using Stepcast.Tests.Engine;
using Stepcast.Tests.Infrastructure;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Postgres;

/// <summary>
/// The engine's own grains with their state and reminders in PostgreSQL: what is written by one activation
/// (System.Text.Json payloads, polymorphic steps and all) is what the next activation reads back.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class EngineOnPostgresTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly FakeWallClock _clock = new(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
    private SandboxDeliveryRecorder _deliveries = null!;
    private InProcessTestCluster _cluster = null!;
    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        var connectionString = _connectionString = await postgres.CreateDatabaseAsync($"engine_{Guid.NewGuid():N}");
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString))
        {
            await PostgresSchema.ApplyAsync(dataSource, CancellationToken.None);
        }

        _deliveries = new SandboxDeliveryRecorder(_clock);
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.UseStepcastPostgresStorageAndReminders(connectionString);
            silo.AddFakeTimeEngine(_clock, _deliveries);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Friend_and_scenario_state_survive_deactivation_and_the_reminder_fires_from_the_table()
    {
        var scenario = Define("pg", "welcome", new FollowTrigger(),
            Send("hello", "Hello {displayName}"),
            new BranchStep { Id = "vip?", Cases = [new BranchCase { When = new TagCondition { Tag = "vip" }, Goto = "vip" }] },
            new WaitStep { Id = "week", Days = 7, QuietHours = [new QuietHours { Start = "22:00", End = "08:00" }] },
            new SendStep { Id = "vip", Messages = [LineMessage.Text("Week one")] });
        var scenarioGrain = _cluster.Client.GetGrain<IScenarioGrain>(ScenarioKey.Format("pg", "welcome"));
        Assert.Empty(await scenarioGrain.SaveDraft(scenario));
        Assert.True((await scenarioGrain.Publish()).Published);
        var friend = _cluster.Client.GetFriend("pg", "Upg");
        var followedAt = _clock.GetUtcNow();
        await friend.Follow(new FollowCommand { At = followedAt, DisplayName = "Aiko", EventId = "evt-1" });
        await friend.UpdateProfile(new UpdateProfileCommand { SetAttributes = ImmutableDictionary<string, string>.Empty.Add("Age", "31") });
        await WaitForDeliveriesAsync(1);

        await _cluster.DeactivateAsync(friend);
        await _cluster.DeactivateAsync(scenarioGrain);
        var reloaded = await friend.GetSnapshot();
        var reloadedScenario = await scenarioGrain.GetVersion(1);

        Assert.Equal("Aiko", reloaded.DisplayName);
        await friend.UpdateProfile(new UpdateProfileCommand { SetAttributes = ImmutableDictionary<string, string>.Empty.Add("age", "32") });
        Assert.Equal("32", Assert.Single((await friend.GetSnapshot()).Attributes).Value);
        var run = Assert.Single(reloaded.Enrollments);
        Assert.Equal("vip", run.StepId);
        Assert.Equal(followedAt.AddDays(7), run.DueAt);
        Assert.Equal(scenario.Steps.Select(s => s.GetType()), reloadedScenario!.Steps.Select(s => s.GetType()));
        Assert.False((await friend.Follow(new FollowCommand { At = _clock.GetUtcNow(), EventId = "evt-1" })).Accepted);

        for (var hour = 0; hour < 7 * 24 + 1 && _deliveries.Deliveries.Count < 2; hour++)
        {
            _clock.Advance(TimeSpan.FromHours(1));
            await Task.Delay(10);
        }

        await WaitForDeliveriesAsync(2);
        Assert.Equal(["hello", "vip"], _deliveries.Deliveries.Select(d => d.StepId).ToArray());
        Assert.Contains("Hello Aiko", _deliveries.Deliveries[0].Messages[0].Json);
    }

    [Fact]
    public async Task A_welcomed_friend_waiting_a_week_keeps_no_safety_net_in_its_row()
    {
        var scenarioGrain = _cluster.Client.GetGrain<IScenarioGrain>(ScenarioKey.Format("pg-net", "welcome"));
        Assert.Empty(await scenarioGrain.SaveDraft(Define("pg-net", "welcome", new FollowTrigger(),
            Send("hello", "Hello"), new WaitStep { Id = "week", Days = 7 }, Send("later", "A week on"))));
        Assert.True((await scenarioGrain.Publish()).Published);
        var friend = _cluster.Client.GetFriend("pg-net", "Upgnet");
        var store = _cluster.Silos[0].ServiceProvider.GetRequiredService<ISafetyNetStore>();

        await friend.Follow(new FollowCommand { At = _clock.GetUtcNow(), EventId = "evt-net" });
        await WaitForDeliveriesAsync(1);
        await Eventually.UntilAsync(friend.GetSnapshot, snapshot => snapshot.History.Any(h => h.Kind == HistoryKind.Sent));

        // The welcome's send is stored; the week's wait is a wake slot's, not the sweep's: even a year on, nothing is overdue.
        var overdue = await store.FindOverdueAsync(_clock.GetUtcNow().AddYears(1), 10_000, CancellationToken.None);
        Assert.DoesNotContain(friend.GetGrainId(), overdue);
    }

    [Fact]
    public async Task A_quota_grain_whose_background_write_finds_the_row_moved_on_starts_again_from_the_row_and_its_stored_grants()
    {
        var quota = _cluster.Client.GetGrain<IPlanQuotaGrain>("pg-quota");
        var plan = new QuotaSettings { Plan = LinePlan.Custom, CustomMonthlyLimit = 10 };
        await quota.Configure(plan);
        var send = Guid.NewGuid();
        Assert.True((await quota.Reserve(new QuotaRequest { RetryKey = send, Recipients = 1 })).Granted);

        // What a write that timed out after its commit leaves behind: the row is a version ahead of the activation.
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(_connectionString))
        {
            await using var bump = dataSource.CreateCommand(
                "update orleansstorage set version = version + 1 where graintypestring like '%quota%' and grainidextensionstring like '%pg-quota%'");
            Assert.Equal(1, await bump.ExecuteNonQueryAsync());
        }

        // A commit is stored by the grain's own flush timer, whose failure no caller sees. The activation must leave
        // memory then (Orleans deactivates a grain on an ETag conflict, timers included), or it would fail every write,
        // and every reservation, from now on.
        await quota.Commit(send);
        var quotaId = quota.GetGrainId();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (_cluster.TryGetGrainContext(quotaId, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, "The quota grain kept its stale activation after its write failed.");
            // Grain timers run on the silo's (fake) clock: a second of it per round lets the 5-second flush come.
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(100);
        }

        // The next activation reads the row (the reservation stored before the grant is there) and writes again.
        await quota.Configure(plan with { CustomMonthlyLimit = 30 });
        var status = await quota.GetStatus();
        Assert.Equal(30, status.Limit);
        Assert.Equal(1, status.Reserved);
    }

    private async Task WaitForDeliveriesAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (_deliveries.Deliveries.Count < count && DateTime.UtcNow < deadline)
        {
            _clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(100);
        }

        Assert.Equal(count, _deliveries.Deliveries.Count);
    }
}
