using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Stepcast.Grains;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Infrastructure;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

/// <summary>
/// The silo's catalogue cache with a period, as in production (the shared engine cluster turns it off so tests see
/// publications at once): a burst of friends asks the channel grain once per period, not once per friend.
/// </summary>
public sealed class ScenarioCatalogTests : IAsyncLifetime
{
    private readonly FakeWallClock _clock = new(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero));
    private readonly SandboxDeliveryRecorder _deliveries;
    private InProcessTestCluster _cluster = null!;
    private int _catalogFetches;
    private int _versionFetches;

    public ScenarioCatalogTests() => _deliveries = new SandboxDeliveryRecorder(_clock);

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.AddMemoryGrainStorage(StorageNames.Friends);
            silo.UseInMemoryReminderService();
            silo.AddFakeTimeEngine(_clock, _deliveries);
            silo.Services.PostConfigure<EngineOptions>(options => options.CatalogCacheDuration = TimeSpan.FromMinutes(1));
            // Each fetch takes a while, as it does on a busy silo, so the burst's friends ask while it is on its way.
            silo.AddIncomingGrainCallFilter(async context =>
            {
                var method = context.InterfaceMethod;
                if (method?.DeclaringType == typeof(IChannelGrain) && method.Name == nameof(IChannelGrain.GetCatalog))
                {
                    Interlocked.Increment(ref _catalogFetches);
                    await Task.Delay(20);
                }
                else if (method?.DeclaringType == typeof(IScenarioGrain) && method.Name == nameof(IScenarioGrain.GetVersion))
                {
                    Interlocked.Increment(ref _versionFetches);
                    await Task.Delay(20);
                }

                await context.Invoke();
            });
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_burst_of_friends_fetches_the_channels_catalogue_once_per_cache_period_and_each_version_once()
    {
        var grains = _cluster.Client;
        const string channel = "catalog-burst";
        var scenario = grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channel, "welcome"));
        Assert.Empty(await scenario.SaveDraft(Define(channel, "welcome", new FollowTrigger(), Send("hello", "Welcome!"))));
        Assert.True((await scenario.Publish()).Published);
        var fetchesBefore = Volatile.Read(ref _catalogFetches);
        var versionFetchesBefore = Volatile.Read(ref _versionFetches);

        // Hundreds of friends at once, all finding the cache empty while the first fetch is on its way.
        await Task.WhenAll(Enumerable.Range(0, 500).Select(i =>
            grains.GetFriend(channel, $"Uburst{i}").Follow(new FollowCommand { At = _clock.GetUtcNow() })));

        Assert.Equal(1, Volatile.Read(ref _catalogFetches) - fetchesBefore);
        Assert.Equal(1, Volatile.Read(ref _versionFetches) - versionFetchesBefore);
        Assert.Contains((await grains.GetFriend(channel, "Uburst0").GetSnapshot()).History, entry => entry.ScenarioId == "welcome");

        // A period later the next friend fetches it anew, once.
        _clock.Advance(TimeSpan.FromMinutes(1));
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            grains.GetFriend(channel, $"Ulater{i}").Follow(new FollowCommand { At = _clock.GetUtcNow() })));
        Assert.Equal(2, Volatile.Read(ref _catalogFetches) - fetchesBefore);
        Assert.Equal(1, Volatile.Read(ref _versionFetches) - versionFetchesBefore);
    }
}
