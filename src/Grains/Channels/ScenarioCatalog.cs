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
    private readonly ConcurrentDictionary<string, CachedCatalog> _catalogs = new();
    private readonly ConcurrentDictionary<(string ChannelId, string ScenarioId, int Version), Task<ScenarioDefinition?>> _versions = new();

    /// <summary>
    /// The channel's catalogue, fetched at most once per <see cref="EngineOptions.CatalogCacheDuration"/>: callers that
    /// find it expired while a fetch is on its way await that fetch. Each used to fetch its own, and in a burst of
    /// 100,000 due friends the thousands arriving during one fetch made 13 % of the host's allocations
    /// (benchmarks/README.md, session 16).
    /// </summary>
    public async ValueTask<ScenarioCatalogSnapshot> GetCatalogAsync(string channelId)
    {
        while (true)
        {
            var now = timeProvider.GetUtcNow();
            _catalogs.TryGetValue(channelId, out var cached);
            if (cached is not null && now - cached.FetchedAt < options.Value.CatalogCacheDuration)
            {
                return cached.Fetch.Task.IsCompletedSuccessfully ? cached.Fetch.Task.Result : await cached.Fetch.Task;
            }

            var fetch = new CachedCatalog(new TaskCompletionSource<ScenarioCatalogSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously), now);
            if (cached is null ? !_catalogs.TryAdd(channelId, fetch) : !_catalogs.TryUpdate(channelId, fetch, cached))
            {
                // Another caller started a fetch meanwhile: use it.
                continue;
            }

            try
            {
                var snapshot = await grains.GetGrain<IChannelGrain>(channelId).GetCatalog();
                fetch.Fetch.SetResult(snapshot);
                return snapshot;
            }
            catch (Exception exception)
            {
                // Those waiting fail with it; the next caller tries again.
                _catalogs.TryRemove(KeyValuePair.Create(channelId, fetch));
                fetch.Fetch.SetException(exception);
                _ = fetch.Fetch.Task.Exception;
                throw;
            }
        }
    }

    /// <summary>
    /// A published version, fetched once per silo: callers that ask while the fetch is on its way await it (after a
    /// silo restart in a burst, every due friend asks at once). A version not found is asked for again next time.
    /// </summary>
    public async ValueTask<ScenarioDefinition?> GetVersionAsync(string channelId, string scenarioId, int version)
    {
        var key = (channelId, scenarioId, version);
        while (true)
        {
            if (_versions.TryGetValue(key, out var cached))
            {
                return cached.IsCompletedSuccessfully ? cached.Result : await cached;
            }

            var fetch = new TaskCompletionSource<ScenarioDefinition?>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_versions.TryAdd(key, fetch.Task))
            {
                continue;
            }

            try
            {
                var definition = await grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(channelId, scenarioId)).GetVersion(version);
                if (definition is null)
                {
                    _versions.TryRemove(KeyValuePair.Create(key, fetch.Task));
                }

                fetch.SetResult(definition);
                return definition;
            }
            catch (Exception exception)
            {
                _versions.TryRemove(KeyValuePair.Create(key, fetch.Task));
                fetch.SetException(exception);
                _ = fetch.Task.Exception;
                throw;
            }
        }
    }

    /// <summary>A catalogue fetch started at <paramref name="FetchedAt"/>, finished or on its way.</summary>
    private sealed record CachedCatalog(TaskCompletionSource<ScenarioCatalogSnapshot> Fetch, DateTimeOffset FetchedAt);
}
