using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

/// <summary>
/// A silo-local cache in front of the channel and scenario grains, so millions of friend grains do not all
/// call one channel grain per event. Catalogues are refreshed after <see cref="EngineOptions.CatalogCacheDuration"/>;
/// published versions never change, so they are cached for the life of the silo.
/// </summary>
public sealed class ScenarioCatalog
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _timeProvider;
    private readonly IOptions<EngineOptions> _options;
    private readonly ConcurrentDictionary<string, SharedFetch<ScenarioCatalogSnapshot>> _catalogs = new();
    private readonly ConcurrentDictionary<(string ChannelId, string ScenarioId, int Version), SharedFetch<ScenarioDefinition?>> _versions = new();
    // Made once, so the hot path allocates no delegates.
    private readonly Func<string, Task<ScenarioCatalogSnapshot>> _fetchCatalog;
    private readonly Func<(string ChannelId, string ScenarioId, int Version), Task<ScenarioDefinition?>> _fetchVersion;
    private readonly Func<DateTimeOffset, bool> _catalogFresh;

    public ScenarioCatalog(IGrainFactory grains, TimeProvider timeProvider, IOptions<EngineOptions> options)
    {
        (_grains, _timeProvider, _options) = (grains, timeProvider, options);
        _fetchCatalog = channelId => _grains.GetGrain<IChannelGrain>(channelId).GetCatalog();
        _fetchVersion = key => _grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(key.ChannelId, key.ScenarioId)).GetVersion(key.Version);
        _catalogFresh = startedAt => _timeProvider.GetUtcNow() - startedAt < _options.Value.CatalogCacheDuration;
    }

    /// <summary>
    /// The channel's catalogue, fetched at most once per <see cref="EngineOptions.CatalogCacheDuration"/>: callers that
    /// find it expired while a fetch is on its way await that fetch. Each used to fetch its own, and in a burst of
    /// 100,000 due friends the thousands arriving during one fetch made 13 % of the host's allocations
    /// (benchmarks/history.md, session 16).
    /// </summary>
    public ValueTask<ScenarioCatalogSnapshot> GetCatalogAsync(string channelId) =>
        GetSharedAsync(_catalogs, channelId, _catalogFresh, _fetchCatalog, static _ => true);

    /// <summary>
    /// A published version, fetched once per silo and kept: callers that ask while the fetch is on its way await it
    /// (after a silo restart in a burst, every due friend asks at once). A version not found is asked for again next time.
    /// </summary>
    public ValueTask<ScenarioDefinition?> GetVersionAsync(string channelId, string scenarioId, int version) =>
        GetSharedAsync(_versions, (channelId, scenarioId, version), static _ => true, _fetchVersion, static definition => definition is not null);

    /// <summary>
    /// The cached value while <paramref name="fresh"/> says so of its fetch's start, else one fetch shared by every
    /// caller that asks before it ends. A failed fetch fails those callers and is forgotten, as is a value
    /// <paramref name="keep"/> declines, so the next caller fetches again.
    /// </summary>
    private async ValueTask<T> GetSharedAsync<TKey, T>(
        ConcurrentDictionary<TKey, SharedFetch<T>> cache, TKey key, Func<DateTimeOffset, bool> fresh, Func<TKey, Task<T>> fetch, Func<T, bool> keep)
        where TKey : notnull
    {
        while (true)
        {
            cache.TryGetValue(key, out var cached);
            if (cached is not null && fresh(cached.StartedAt))
            {
                var task = cached.Source.Task;
                return task.IsCompletedSuccessfully ? task.Result : await task;
            }

            var mine = new SharedFetch<T>(new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously), _timeProvider.GetUtcNow());
            if (cached is null ? !cache.TryAdd(key, mine) : !cache.TryUpdate(key, mine, cached))
            {
                // Another caller started a fetch meanwhile: use it.
                continue;
            }

            try
            {
                var value = await fetch(key);
                if (!keep(value))
                {
                    cache.TryRemove(KeyValuePair.Create(key, mine));
                }

                mine.Source.SetResult(value);
                return value;
            }
            catch (Exception exception)
            {
                cache.TryRemove(KeyValuePair.Create(key, mine));
                mine.Source.SetException(exception);
                _ = mine.Source.Task.Exception;
                throw;
            }
        }
    }

    /// <summary>A fetch started at <paramref name="startedAt"/>, finished or on its way.</summary>
    private sealed class SharedFetch<T>(TaskCompletionSource<T> source, DateTimeOffset startedAt)
    {
        public TaskCompletionSource<T> Source { get; } = source;
        public DateTimeOffset StartedAt { get; } = startedAt;
    }
}
