using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

/// <summary>
/// A silo-local cache in front of the channel and scenario grains, so millions of friend grains do not all
/// call one channel grain per event. Catalogues are refreshed after <see cref="EngineOptions.CatalogCacheDuration"/>;
/// published versions never change, so they are cached for the life of the silo.
/// </summary>
public sealed class ScenarioCatalog(IGrainFactory grains, TimeProvider timeProvider, IOptions<EngineOptions> options)
{
    private readonly ConcurrentDictionary<string, (ScenarioCatalogSnapshot Snapshot, DateTimeOffset FetchedAt)> _catalogs = new();
    private readonly ConcurrentDictionary<(string ChannelId, string ScenarioId, int Version), ScenarioDefinition> _versions = new();

    public async ValueTask<ScenarioCatalogSnapshot> GetCatalogAsync(string channelId)
    {
        var now = timeProvider.GetUtcNow();
        if (_catalogs.TryGetValue(channelId, out var cached)
            && now - cached.FetchedAt < options.Value.CatalogCacheDuration)
        {
            return cached.Snapshot;
        }

        var snapshot = await grains.GetGrain<IChannelGrain>(channelId).GetCatalog();
        _catalogs[channelId] = (snapshot, now);
        return snapshot;
    }

    public async ValueTask<ScenarioDefinition?> GetVersionAsync(string channelId, string scenarioId, int version)
    {
        if (_versions.TryGetValue((channelId, scenarioId, version), out var definition))
        {
            return definition;
        }

        definition = await grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channelId, scenarioId)).GetVersion(version);
        if (definition is not null)
        {
            _versions[(channelId, scenarioId, version)] = definition;
        }

        return definition;
    }
}
