using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Stepcast.Grains.Friends;

/// <summary>
/// A directory bucket's persisted state: its open page of ids (sorted ordinally) and how many pages it has sealed.
/// [Id] numbers are persisted: never reuse or renumber them.
/// </summary>
[GenerateSerializer]
public sealed class FriendDirectoryState
{
    /// <summary>
    /// The open page's ids not in <see cref="PackedLineUserIds"/>: every id in rows written before packing (or with
    /// <see cref="EngineOptions.PackLineUserIds"/> off), otherwise those not in LINE's form. Buckets written before
    /// pages existed hold every id here; they seal on their next write.
    /// </summary>
    [Id(0)] public List<string> LineUserIds { get; set; } = [];
    [Id(1)] public int SealedPages { get; set; }
    /// <summary>The open page's ids in LINE's form, 16 bytes each (see <see cref="Friends.PackedLineUserIds"/>).</summary>
    [Id(2)] public byte[]? PackedLineUserIds { get; set; }

    public static FriendDirectoryState Of(IdPage open, int sealedPages, bool pack)
    {
        var (text, packed) = open.Stored(pack);
        return new FriendDirectoryState { LineUserIds = text, SealedPages = sealedPages, PackedLineUserIds = packed };
    }

    /// <summary>The open page as stored, however it was stored.</summary>
    public IdPage OpenPage() => IdPage.Load(PackedLineUserIds, LineUserIds);

    /// <summary>The open page's ids in ordinal order.</summary>
    public List<string> OpenIds() => [.. OpenPage()];
}

/// <summary>
/// Stored with the friends: on PostgreSQL a bucket's write then shares a statement and a commit with the friend writes
/// in flight, where a single-row commit of its own was the costliest statement per follow (benchmarks/history.md).
/// Reentrant so that additions arriving while a write is in flight share the next write (see <see cref="PagedIdList"/>):
/// a burst of new friends costs a few writes per bucket, not one each.
/// </summary>
[Reentrant]
public sealed class FriendDirectoryGrain(
    [PersistentState(FriendDirectory.BucketStateName, StorageNames.Friends)] IPersistentState<FriendDirectoryState> state,
    IOptions<EngineOptions> options) : Grain, IFriendDirectoryGrain
{
    private PagedIdList _ids = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var pack = options.Value.PackLineUserIds;
        _ids = new PagedIdList(
            FriendDirectory.PageSize,
            (page, ids) => FriendDirectory.Page(GrainFactory, key, page).Store(ids),
            async (open, sealedPages) =>
            {
                state.State = FriendDirectoryState.Of(open, sealedPages, pack);
                await state.WriteStateAsync();
            });
        // Buckets written before pages existed hold every id in the open page: it seals on their next write.
        _ids.Load(state.State.OpenPage(), state.State.SealedPages);
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

        var sources = new List<ImmutableArray<string>> { FriendDirectory.Slice([.. _ids.Open], after, limit) };
        var pages = Enumerable.Range(0, _ids.SealedPages)
            .Select(page => FriendDirectory.Page(GrainFactory, this.GetPrimaryKeyString(), page).List(after, limit));
        sources.AddRange(await Task.WhenAll(pages));
        return [.. sources.SelectMany(ids => ids).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(limit)];
    }
}

/// <summary>A sealed page of ids: stored once, then read by campaigns walking the directory.</summary>
public sealed class FriendDirectoryPageGrain(
    [PersistentState(FriendDirectory.PageStateName, StorageNames.Friends)] IPersistentState<FriendDirectoryPageState> state,
    IOptions<EngineOptions> options) : Grain, IFriendDirectoryPageGrain
{
    private ImmutableArray<string>? _ids;

    private ImmutableArray<string> Ids => _ids ??= state.State.Ids();

    async Task IFriendDirectoryPageGrain.Store(ImmutableArray<string> lineUserIds)
    {
        state.State = FriendDirectoryPageState.Of(lineUserIds, options.Value.PackLineUserIds);
        _ids = lineUserIds;
        await state.WriteStateAsync();
    }

    Task<ImmutableArray<string>> IFriendDirectoryPageGrain.List(string? after, int limit) =>
        Task.FromResult(FriendDirectory.Slice(Ids, after, limit));
}

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class FriendDirectoryPageState
{
    /// <summary>The page's ids not in <see cref="PackedLineUserIds"/> (every id in pages written before packing).</summary>
    [Id(0)] public ImmutableArray<string> LineUserIds { get; set; } = [];
    /// <summary>The page's ids in LINE's form, 16 bytes each (see <see cref="Friends.PackedLineUserIds"/>).</summary>
    [Id(1)] public byte[]? PackedLineUserIds { get; set; }

    public static FriendDirectoryPageState Of(ImmutableArray<string> ids, bool pack)
    {
        var (text, packed) = IdPage.Load(null, ids).Stored(pack);
        return new FriendDirectoryPageState { LineUserIds = [.. text], PackedLineUserIds = packed };
    }

    /// <summary>The page's ids in ordinal order.</summary>
    public ImmutableArray<string> Ids() => [.. IdPage.Load(PackedLineUserIds, LineUserIds)];
}
