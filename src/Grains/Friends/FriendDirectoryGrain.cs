using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Stepcast.Grains.Friends;

/// <summary>
/// A directory bucket's persisted state: its open page of ids (sorted ordinally) and how many pages it has sealed.
/// [Id] numbers are persisted: never reuse or renumber them.
/// </summary>
[GenerateSerializer]
public sealed class FriendDirectoryState
{
    /// <summary>The open page. Buckets written before pages existed hold every id here; they seal on their next write.</summary>
    [Id(0)] public List<string> LineUserIds { get; set; } = [];
    [Id(1)] public int SealedPages { get; set; }
}

/// <summary>
/// Stored with the friends: on PostgreSQL a bucket's write then shares a statement and a commit with the friend writes
/// in flight, where a single-row commit of its own was the costliest statement per follow (benchmarks/README.md).
/// Reentrant so that additions arriving while a write is in flight share the next write (see <see cref="PagedIdList"/>):
/// a burst of new friends costs a few writes per bucket, not one each.
/// </summary>
[Reentrant]
public sealed class FriendDirectoryGrain(
    [PersistentState(FriendDirectory.BucketStateName, StorageNames.Friends)] IPersistentState<FriendDirectoryState> state) : Grain, IFriendDirectoryGrain
{
    private PagedIdList _ids = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        _ids = new PagedIdList(
            FriendDirectory.PageSize,
            (page, ids) => FriendDirectory.Page(GrainFactory, key, page).Store(ids),
            async (open, sealedPages) =>
            {
                state.State = new FriendDirectoryState { LineUserIds = open, SealedPages = sealedPages };
                await state.WriteStateAsync();
            });
        // Buckets written before pages existed hold every id in the open page: it seals on their next write.
        _ids.Load(state.State.LineUserIds, state.State.SealedPages);
        return Task.CompletedTask;
    }

    // An id already in a sealed page (a friend that crashed before storing that it was listed) may be listed again
    // in the open page: readers merge pages and drop the repeat.
    Task IFriendDirectoryGrain.Add(string lineUserId) => _ids.AddAsync(lineUserId);

    async Task<ImmutableArray<string>> IFriendDirectoryGrain.List(string? after, int limit)
    {
        if (limit <= 0)
        {
            return [];
        }

        var sources = new List<ImmutableArray<string>> { FriendDirectory.Slice(_ids.Open, after, limit) };
        var pages = Enumerable.Range(0, _ids.SealedPages)
            .Select(page => FriendDirectory.Page(GrainFactory, this.GetPrimaryKeyString(), page).List(after, limit));
        sources.AddRange(await Task.WhenAll(pages));
        return [.. sources.SelectMany(ids => ids).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(limit)];
    }
}

/// <summary>A sealed page of ids: stored once, then read by campaigns walking the directory.</summary>
public sealed class FriendDirectoryPageGrain(
    [PersistentState(FriendDirectory.PageStateName, StorageNames.Friends)] IPersistentState<FriendDirectoryPageState> state) : Grain, IFriendDirectoryPageGrain
{
    async Task IFriendDirectoryPageGrain.Store(ImmutableArray<string> lineUserIds)
    {
        state.State.LineUserIds = lineUserIds;
        await state.WriteStateAsync();
    }

    Task<ImmutableArray<string>> IFriendDirectoryPageGrain.List(string? after, int limit) =>
        Task.FromResult(FriendDirectory.Slice(state.State.LineUserIds, after, limit));
}

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class FriendDirectoryPageState
{
    [Id(0)] public ImmutableArray<string> LineUserIds { get; set; } = [];
}
