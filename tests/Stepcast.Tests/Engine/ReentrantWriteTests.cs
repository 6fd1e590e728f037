using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using Stepcast.Grains;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Quota;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Engine;

/// <summary>
/// The reentrant grains that keep state (directory buckets, plan quota) against a store that serialises as Orleans'
/// ADO.NET provider does: after an await, on a pool thread, while the grain goes on with the next request. A 100,000-
/// friend run on PostgreSQL failed a quota write with "Collection was modified" that way.
/// </summary>
public sealed class ReentrantWriteTests : IAsyncLifetime
{
    private readonly OffThreadSerializingStorage _store = new();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero));
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (services, _) =>
                _store.Using(services.GetRequiredService<Serializer>()));
            // Directory buckets are stored with the friends, the quota in the default store: both here.
            silo.Services.AddGrainStorage(StorageNames.Friends, (services, _) => _store.Using(services.GetRequiredService<Serializer>()));
            silo.UseInMemoryReminderService();
            silo.AddFakeTimeEngine(clock, new SandboxDeliveryRecorder(clock));
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    [Fact]
    public async Task A_directory_bucket_stores_every_id_added_while_its_writes_were_in_flight()
    {
        var bucket = _cluster.Client.GetGrain<IFriendDirectoryGrain>("reentrant/0");
        var ids = Enumerable.Range(0, 1_500).Select(i => $"U{i:D32}").ToArray();

        await TrickleAsync(ids, id => bucket.Add(id));

        Assert.Equal(0, _store.FailedWrites);
        // Everything stored: the bucket's open page and the pages it sealed.
        var stored = _store.Stored<FriendDirectoryState>("reentrant/0").SelectMany(state => state.OpenIds())
            .Concat(_store.Stored<FriendDirectoryPageState>("reentrant/0/").SelectMany(page => page.Ids()));
        Assert.Equal(ids.Order(StringComparer.Ordinal), stored.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_limited_channels_quota_stores_every_reservation_granted_while_its_writes_were_in_flight()
    {
        var quota = _cluster.Client.GetGrain<IPlanQuotaGrain>("reentrant-quota");
        await quota.Configure(new QuotaSettings { Plan = LinePlan.Custom, CustomMonthlyLimit = 100_000 });
        var keys = Enumerable.Range(0, 1_000).Select(_ => Guid.NewGuid()).ToArray();

        var decisions = await TrickleAsync(keys, key => quota.Reserve(new QuotaRequest { RetryKey = key, Recipients = 1 }));

        Assert.All(decisions, decision => Assert.True(decision.Granted));
        Assert.Equal(0, _store.FailedWrites);
        // A grant is answered only once its reservation is stored.
        var stored = Assert.Single(_store.Stored<PlanQuotaState>("reentrant-quota"));
        Assert.Superset(keys.ToHashSet(), stored.Reservations.Keys.ToHashSet());
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>Calls arriving a few at a time over a second or so, so that some always land while a write serialises.</summary>
    private static async Task TrickleAsync<T>(IEnumerable<T> items, Func<T, Task> call) =>
        await TrickleAsync(items, async item => { await call(item); return true; });

    private static async Task<TResult[]> TrickleAsync<T, TResult>(IEnumerable<T> items, Func<T, Task<TResult>> call)
    {
        var calls = new List<Task<TResult>>();
        foreach (var item in items)
        {
            calls.Add(call(item));
            if (calls.Count % 5 == 0)
            {
                await Task.Delay(1);
            }
        }

        return await Task.WhenAll(calls);
    }

    /// <summary>
    /// Grain storage in memory that, like the ADO.NET provider, serialises the state after an await off the grain's
    /// scheduler, several times over to keep the window open. Counts the writes that failed.
    /// </summary>
    private sealed class OffThreadSerializingStorage
    {
        private readonly ConcurrentDictionary<GrainId, (int Version, byte[] Bytes)> _rows = new();
        private Serializer? _serializer;
        private int _failedWrites;

        public int FailedWrites => Volatile.Read(ref _failedWrites);

        public IGrainStorage Using(Serializer serializer)
        {
            _serializer = serializer;
            return new Provider(this);
        }

        /// <summary>The stored states of grains whose key starts with <paramref name="keyPrefix"/>.</summary>
        public IEnumerable<T> Stored<T>(string keyPrefix) => _rows
            .Where(row => row.Key.Key.ToString()!.StartsWith(keyPrefix, StringComparison.Ordinal))
            .Select(row => row.Value.Bytes)
            .Select(bytes => _serializer!.Deserialize<object>(bytes))
            .OfType<T>()
            .ToList();

        private sealed class Provider(OffThreadSerializingStorage store) : IGrainStorage
        {
            public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
            {
                if (store._rows.TryGetValue(grainId, out var row))
                {
                    grainState.State = (T)store._serializer!.Deserialize<object>(row.Bytes)!;
                    grainState.ETag = row.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    grainState.RecordExists = true;
                }

                return Task.CompletedTask;
            }

            public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
            {
                await Task.Delay(1).ConfigureAwait(false);
                try
                {
                    byte[] bytes = [];
                    for (var i = 0; i < 20; i++)
                    {
                        bytes = store._serializer!.SerializeToArray<object>(grainState.State!);
                    }

                    var version = store._rows.AddOrUpdate(grainId, (1, bytes), (_, old) => (old.Version + 1, bytes)).Version;
                    grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    grainState.RecordExists = true;
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref store._failedWrites);
                    throw;
                }
            }

            public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
            {
                store._rows.TryRemove(grainId, out _);
                return Task.CompletedTask;
            }
        }
    }
}
