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
/// Reentrant so that additions arriving while a write is in flight share the next write (a group commit): a burst
/// of new friends costs a few writes per bucket, not one each. Ids go to the open page; a full page is sealed into
/// an <see cref="IFriendDirectoryPageGrain"/> before the bucket records it, so no id is ever only in memory.
/// </summary>
[Reentrant]
public sealed class FriendDirectoryGrain(
    [PersistentState(FriendDirectory.BucketStateName, StorageNames.Friends)] IPersistentState<FriendDirectoryState> state) : Grain, IFriendDirectoryGrain
{
    private long _changes;
    private long _saved;
    private Task? _writing;

    /// <summary>
    /// The live open page, changed by interleaved additions. Storage is handed a copy (see <see cref="WriteAsync"/>):
    /// the ADO.NET provider serialises after an await, on a pool thread, while the next addition may be inserting.
    /// </summary>
    private List<string> Open { get; set; } = null!;

    private int SealedPages { get; set; }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (Open, SealedPages) = (state.State.LineUserIds, state.State.SealedPages);
        return Task.CompletedTask;
    }

    async Task IFriendDirectoryGrain.Add(string lineUserId)
    {
        var at = Open.BinarySearch(lineUserId, StringComparer.Ordinal);
        if (at < 0)
        {
            // An id already in a sealed page (a friend that crashed before storing that it was listed) may be listed
            // again here: readers merge pages and drop the repeat.
            Open.Insert(~at, lineUserId);
            _changes++;
        }

        // Also when already listed: an earlier addition of the same id may still be on its way to storage.
        var needed = _changes;
        while (_saved < needed)
        {
            if (_writing is null || _writing.IsCompleted)
            {
                _writing = WriteAsync();
            }

            await _writing;
        }
    }

    async Task<ImmutableArray<string>> IFriendDirectoryGrain.List(string? after, int limit)
    {
        if (limit <= 0)
        {
            return [];
        }

        var sources = new List<ImmutableArray<string>> { FriendDirectory.Slice(Open, after, limit) };
        var pages = Enumerable.Range(0, SealedPages)
            .Select(page => FriendDirectory.Page(GrainFactory, this.GetPrimaryKeyString(), page).List(after, limit));
        sources.AddRange(await Task.WhenAll(pages));
        return [.. sources.SelectMany(ids => ids).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(limit)];
    }

    private async Task WriteAsync()
    {
        while (Open.Count >= FriendDirectory.PageSize)
        {
            // The page is stored first: a crash before the bucket's write leaves the ids in the open page too, and the
            // next sealing stores the same page number again.
            var sealing = Open.Take(FriendDirectory.PageSize).ToImmutableArray();
            await FriendDirectory.Page(GrainFactory, this.GetPrimaryKeyString(), SealedPages).Store(sealing);
            var moved = sealing.ToHashSet(StringComparer.Ordinal);
            Open.RemoveAll(moved.Contains);
            SealedPages++;
        }

        var covering = _changes;
        // A copy taken in this turn: ids added while the write is in flight go with the next one.
        state.State = new FriendDirectoryState { LineUserIds = [.. Open], SealedPages = SealedPages };
        await state.WriteStateAsync();
        _saved = Math.Max(_saved, covering);
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
