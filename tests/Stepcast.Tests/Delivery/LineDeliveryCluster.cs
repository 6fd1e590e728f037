using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using Stepcast.FakeLine;
using Stepcast.Grains;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Silo;

namespace Stepcast.Tests.Delivery;

/// <summary>
/// A two-silo in-process cluster that delivers through <c>LineMessageDelivery</c> to an in-process
/// <see cref="FakeLineServer"/>, on real time: the waits involved are tenths of a second (scenario waits are
/// compressed 600-fold, so a one-minute wait lasts 100 ms). Each test registers its own channel with its own token.
/// </summary>
public abstract class LineDeliveryCluster : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    public FakeLineServer Line { get; private set; } = null!;
    public IGrainFactory Grains => _cluster.Client;

    /// <summary>The fake's per-second limit per channel and endpoint; null for none.</summary>
    protected virtual int? FakeRateLimitPerSecond => null;

    /// <summary>Settings on top of the common ones (e.g. a lower push limit).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public async Task InitializeAsync()
    {
        Line = await FakeLineServer.StartAsync(new FakeLineOptions { RateLimitPerSecond = FakeRateLimitPerSecond });
        var settings = new Dictionary<string, string?>
        {
            ["Stepcast:Engine:CatalogCacheDuration"] = "00:00:00",
            ["Stepcast:Engine:WaitCompression"] = "600",
            ["Stepcast:Engine:SendRetryDelay"] = "00:00:00.300",
            ["Stepcast:Engine:ReminderRetryPeriod"] = "00:00:02",
            ["Stepcast:Delivery:BaseBackoff"] = "00:00:00.050",
            ["Stepcast:Delivery:MaxBackoff"] = "00:00:00.200",
            ["Stepcast:Delivery:RetryBudget"] = "00:00:01",
            ["Line:ApiBaseUrl"] = Line.BaseUrl,
            ["Line:DataApiBaseUrl"] = Line.BaseUrl,
            // Well under the 3 s hang faults, well over a loopback request on a busy 2-core machine.
            ["Line:Timeout"] = "00:00:02",
            // These clusters test the push path; the coalescing cluster turns multicast batching back on.
            ["Stepcast:Delivery:MulticastWindow"] = "00:00:00",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.AddMemoryGrainStorage(StorageNames.Friends);
            silo.UseInMemoryReminderService();
            silo.AddStepcastEngineServices(configuration);
            silo.Configure<ReminderOptions>(options => options.RefreshReminderListPeriod = TimeSpan.FromSeconds(1));
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await Line.DisposeAsync();
    }

    /// <summary>Registers a channel with an access token, which routes its deliveries to (fake) LINE.</summary>
    public async Task<string> RegisterLineChannelAsync(string channelId)
    {
        var token = "token-" + channelId;
        await Grains.GetGrain<IChannelGrain>(channelId).Configure(new ChannelSettings
        {
            ChannelId = channelId,
            ChannelSecret = "secret-" + channelId,
            AccessToken = token,
        });
        return token;
    }

    public async Task PublishAsync(ScenarioDefinition scenario)
    {
        var grain = Grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(scenario.ChannelId, scenario.Id));
        Assert.Empty(await grain.SaveDraft(scenario));
        Assert.True((await grain.Publish()).Published);
    }

    public IFriendGrain Friend(string channelId, string lineUserId) => Grains.GetFriend(channelId, lineUserId);

    /// <summary>Every send (push or multicast) the fake accepted for one channel.</summary>
    public IReadOnlyList<FakeLineDelivery> SendsFor(string token) =>
        [.. Line.Deliveries.Snapshot().Where(d => d.ChannelAccessToken == token && d.Endpoint is "push" or "multicast")];

    /// <summary>The pushes the fake accepted for one channel.</summary>
    public IReadOnlyList<FakeLineDelivery> PushesFor(string token) =>
        [.. Line.Deliveries.Snapshot().Where(d => d.ChannelAccessToken == token && d.Endpoint == "push")];

    /// <summary>
    /// Waits (real time, bounded) until <paramref name="done"/> holds for every friend's snapshot. Friends still busy
    /// are nudged with <c>RunDueSteps</c> now and then — the same call a reminder tick makes — so the test does not
    /// depend on when the in-memory reminder service fires.
    /// </summary>
    public async Task<IReadOnlyList<FriendSnapshot>> DriveUntilAsync(
        string channelId, IReadOnlyList<string> lineUserIds, Func<FriendSnapshot, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var round = 0;
        while (true)
        {
            var snapshots = await Task.WhenAll(lineUserIds.Select(id => Friend(channelId, id).GetSnapshot()));
            var pending = snapshots.Where(s => !done(s)).ToList();
            if (pending.Count == 0 || DateTime.UtcNow > deadline)
            {
                return snapshots;
            }

            if (++round % 10 == 0)
            {
                // Fire and forget: a friend busy delivering would hold the loop up until it is done.
                foreach (var snapshot in pending)
                {
                    Friend(channelId, snapshot.LineUserId).RunDueSteps().Ignore();
                }
            }

            await Task.Delay(200);
        }
    }
}

/// <summary>LINE's default limits; faults are injected per test.</summary>
public sealed class FaultyLineCluster : LineDeliveryCluster;

[CollectionDefinition(Name)]
public sealed class FaultyLineCollection : ICollectionFixture<FaultyLineCluster>
{
    public const string Name = "LINE delivery with faults";
}

/// <summary>
/// The engine's limiter at 50 pushes a second, the fake LINE at 60: the fifth of headroom absorbs a push that leaves on
/// time but arrives in the next second on a busy 2-core CI machine, while 300 unlimited pushes (all within about a
/// second) would still meet hundreds of 429s.
/// </summary>
public sealed class RateLimitedLineCluster : LineDeliveryCluster
{
    public const int PushPerSecond = 50;

    protected override int? FakeRateLimitPerSecond => PushPerSecond * 6 / 5;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stepcast:RateLimits:Push:Limit", PushPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        // Friends queue for permits longer than the default while hundreds of pushes share 50 a second.
        new("Stepcast:Delivery:MaxPermitWait", "00:00:10"),
        // Other test clusters share this machine's two cores, so a push can take well over 100 ms to reach the fake:
        // keeping the last 200 ms of each second quiet lets it still arrive in the second its permit was for.
        new("Stepcast:RateLimits:QuietSlots", "2"),
    ];
}

[CollectionDefinition(Name)]
public sealed class RateLimitedLineCollection : ICollectionFixture<RateLimitedLineCluster>
{
    public const string Name = "LINE delivery under a rate limit";
}

/// <summary>Multicast coalescing on: friends due for the same plain step within 300 ms share one multicast.</summary>
public class CoalescingLineCluster : LineDeliveryCluster
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stepcast:Delivery:MulticastWindow", "00:00:00.300"),
        new("Stepcast:Delivery:MulticastConfirmTimeout", "00:00:05"),
    ];
}

[CollectionDefinition(Name)]
public sealed class CoalescingLineCollection : ICollectionFixture<CoalescingLineCluster>
{
    public const string Name = "LINE delivery with multicast coalescing";
}

/// <summary>Coalescing with each send's route written only with the run's outcome, as the embedded topology does.</summary>
public sealed class CoalescingRouteInMemoryLineCluster : CoalescingLineCluster
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [.. base.Settings, new("Stepcast:Engine:StoreRouteBeforeSending", "false")];
}

[CollectionDefinition(Name)]
public sealed class CoalescingRouteInMemoryLineCollection : ICollectionFixture<CoalescingRouteInMemoryLineCluster>
{
    public const string Name = "LINE delivery with multicast coalescing, routes in memory";
}
