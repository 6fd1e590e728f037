using System.Collections.Immutable;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.Configuration;
using Orleans.Reminders;
using Orleans.TestingHost;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Grains;
using Stepcast.Silo;
using Stepcast.Tests.Api;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Engine;

/// <summary>
/// A two-silo in-process cluster whose engine clock and reminders run on one <see cref="FakeTimeProvider"/>,
/// so a month of scenario time passes in a test in seconds. Deliveries go to one shared recorder.
/// </summary>
public class EngineCluster : IAsyncLifetime
{
    private readonly IReadOnlyDictionary<string, string?> _settings;

    public static readonly DateTimeOffset Start = new(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);

    private InProcessTestCluster _cluster = null!;

    public FakeWallClock Clock { get; } = new(Start);
    public SandboxDeliveryRecorder Deliveries { get; }
    /// <summary>Faults of the storage that friends and wake slots write to; none unless a test switches one on.</summary>
    public GrainStorageFaults FriendStorageFaults { get; } = new();
    public IGrainFactory Grains => _cluster.Client;
    public InProcessTestCluster Cluster => _cluster;

    public EngineCluster() : this(new Dictionary<string, string?>())
    {
    }

    /// <summary>A cluster whose engine configuration differs by <paramref name="settings"/>.</summary>
    protected EngineCluster(IReadOnlyDictionary<string, string?> settings)
    {
        _settings = settings;
        Deliveries = new SandboxDeliveryRecorder(Clock);
    }

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.AddMemoryGrainStorage(StorageNames.Friends);
            FaultInjectingGrainStorage.Decorate(silo.Services, StorageNames.Friends, FriendStorageFaults);
            silo.UseInMemoryReminderService();
            silo.AddFakeTimeEngine(Clock, Deliveries, _settings);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>Saves and publishes a scenario; fails the test on validation problems.</summary>
    public async Task PublishAsync(ScenarioDefinition scenario)
    {
        var grain = Grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(scenario.ChannelId, scenario.Id));
        var problems = await grain.SaveDraft(scenario);
        Assert.Empty(problems);
        Assert.True((await grain.Publish()).Published);
    }

    public IFriendGrain Friend(string channelId, string lineUserId) => Grains.GetFriend(channelId, lineUserId);

    public IReadOnlyList<RecordedDelivery> DeliveriesTo(string channelId, string lineUserId) =>
        Deliveries.DeliveriesTo(channelId, lineUserId);

    /// <summary>Waits, without calling the grain (a call would bring it back), until its activation is gone.</summary>
    public async Task<bool> LeavesMemoryAsync(GrainId grainId, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (Cluster.TryGetGrainContext(grainId, out _))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <summary>Whether the friend has a reminder of its own in the cluster's reminder table.</summary>
    public async Task<bool> HasReminderAsync(IFriendGrain friend)
    {
        var table = Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        return (await table.ReadRows(friend.GetGrainId())).Reminders.Count > 0;
    }

    /// <summary>
    /// Moves fake time forward in small slices, giving silos a moment after each slice to fire reminders and
    /// run the steps they wake.
    /// </summary>
    public async Task AdvanceAsync(TimeSpan span, TimeSpan? slice = null)
    {
        var step = slice ?? TimeSpan.FromHours(1);
        var end = Clock.GetUtcNow() + span;
        while (Clock.GetUtcNow() < end)
        {
            var next = Clock.GetUtcNow() + step;
            Clock.SetUtcNow(next < end ? next : end);
            await Task.Delay(5);
        }

        await Task.Delay(50);
    }

    /// <summary>
    /// Waits (in real time, bounded) until the friend has received <paramref name="count"/> deliveries, and fails the
    /// test if it has not within 30 s. The sends come from the engine itself: its reminders and background runs.
    /// With <paramref name="settle"/>, it then waits for the friend's turn that sent them to end.
    /// <para>
    /// Unless told otherwise, fake time also keeps moving, as real time would (a minute a second, then after 10 s ten
    /// minutes every 100 ms), for sends due after the clock's current reading. When the clock must stay still (a test
    /// measuring a window), it moves only a second at a time, enough for timers on the engine clock (a multicast
    /// batch's window) to fire.
    /// </para>
    /// </summary>
    public async Task<IReadOnlyList<RecordedDelivery>> WaitForDeliveriesAsync(
        string channelId, string lineUserId, int count, bool advanceClock = true, bool settle = true)
    {
        var started = DateTime.UtcNow;
        var deadline = started + TimeSpan.FromSeconds(30);
        var nextNudge = started + TimeSpan.FromSeconds(1);
        while (true)
        {
            var deliveries = DeliveriesTo(channelId, lineUserId);
            if (deliveries.Count >= count)
            {
                // The send is recorded before the friend's turn ends: its write, and the wake slot listing for its next
                // step, are still in flight. The slot registers its reminder as "due in" the time left, which the
                // reminder service counts from its own reading of the clock; a test that moved the clock meanwhile
                // (13 hours, in one run) got the next step that much late. A read-only call waits for the turn to end
                // (unless the test watches the friend leave memory: the call would bring it back).
                if (settle)
                {
                    await Friend(channelId, lineUserId).GetSnapshot();
                }

                return deliveries;
            }

            Assert.True(DateTime.UtcNow < deadline,
                $"{lineUserId} received {deliveries.Count} of the {count} deliveries expected within 30 s (fake time now {Clock.GetUtcNow():O}).");
            if (DateTime.UtcNow > nextNudge)
            {
                var early = DateTime.UtcNow - started < TimeSpan.FromSeconds(10);
                nextNudge = DateTime.UtcNow + (early ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(100));
                Clock.Advance(!advanceClock ? TimeSpan.FromSeconds(1) : early ? TimeSpan.FromMinutes(1) : TimeSpan.FromMinutes(10));
            }

            await Task.Delay(100);
        }
    }
}

public static class FakeTimeEngineSiloExtensions
{
    /// <summary>
    /// Engine services on one fake clock (the engine's and the reminders'), delivering to a shared recorder. Storage
    /// and clustering are the caller's.
    /// </summary>
    public static ISiloBuilder AddFakeTimeEngine(
        this ISiloBuilder silo, FakeTimeProvider clock, SandboxDeliveryRecorder deliveries, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Stepcast:Engine:CatalogCacheDuration"] = "00:00:00",
                // Reminders fire exactly at the due time, so tests can check send times to the minute.
                ["Stepcast:Engine:WakeSpread"] = "00:00:00",
                // The coalescing window runs on the engine clock, which only moves when a test moves it.
                ["Stepcast:Delivery:MulticastWindow"] = "00:00:00",
                // Held sends come back in strict order, and all of them exactly at the month's start.
                ["Stepcast:Quota:ResumeConcurrency"] = "1",
                ["Stepcast:Quota:MonthStartSpread"] = "00:00:00",
                // A friend that a woken run left idle leaves a second later (on the fake clock, which tests move).
                ["Stepcast:Engine:LeaveAfterWokenRun"] = "00:00:01",
                // Whether a friend stays in memory must not hang on how much of the test machine's memory is in use.
                ["Stepcast:Engine:ShortOfMemoryAtLoadPercent"] = "101",
            })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        silo.Services.AddSingleton<TimeProvider>(clock);
        silo.Services.AddKeyedSingleton<TimeProvider>(ReminderTimeProviderNames.Reminders, clock);
        silo.Services.AddSingleton(deliveries);
        silo.AddStepcastEngineServices(configuration);
        // Load reminders a day ahead, so each one fires as soon as fake time passes it rather than at the first
        // table refresh after it (the default window is ten minutes, refreshed every five).
        return silo.Configure<ReminderOptions>(options =>
        {
            options.ReminderLoadingWindow = TimeSpan.FromDays(1);
            options.RefreshReminderListPeriod = TimeSpan.FromMinutes(1);
        });
    }
}

[CollectionDefinition(Name)]
public sealed class EngineClusterCollection : ICollectionFixture<EngineCluster>
{
    public const string Name = "Engine cluster";
}

/// <summary>Small builders that keep scenario definitions in tests short and readable.</summary>
public static class Scenario
{
    private static int _sequence;

    public static string NewChannel() => $"ch{Interlocked.Increment(ref _sequence)}";

    public static ScenarioDefinition Define(string channelId, string id, ScenarioTrigger trigger, params ScenarioStep[] steps) => new()
    {
        Id = id,
        Title = id,
        ChannelId = channelId,
        Triggers = [trigger],
        Steps = [.. steps],
    };

    public static SendStep Send(string id, string text) => new() { Id = id, Messages = [LineMessage.Text(text)] };

    public static WaitStep WaitDays(string id, int days) => new() { Id = id, Days = days };

    public static WaitStep WaitMinutes(string id, int minutes) => new() { Id = id, Minutes = minutes };

    /// <summary>Sends are checked to the minute: the schedule is exact, the reminder fires within the clock slice.</summary>
    public static void AssertClose(TimeSpan expected, TimeSpan actual, TimeSpan tolerance) =>
        Assert.InRange(actual, expected - tolerance, expected + tolerance);

    public static string[] StepIds(IEnumerable<RecordedDelivery> deliveries) =>
        [.. deliveries.Select(d => d.StepId)];
}
