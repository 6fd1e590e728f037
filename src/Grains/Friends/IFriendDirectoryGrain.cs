using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Stepcast.Grains.Friends;

/// <summary>
/// One bucket of a channel's friend directory, keyed <c>{channelId}/{bucket}</c>: the LINE user ids of the friends
/// whose id hashes to the bucket (see <see cref="FriendDirectory"/>). A friend lists itself on its first command, so
/// segment campaigns can visit every friend of a channel without a scan of grain storage.
/// </summary>
public interface IFriendDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Adds the friend; answers once that is persisted. Idempotent.</summary>
    Task Add(string lineUserId);

    /// <summary>Up to <paramref name="limit"/> ids after <paramref name="after"/> in ordinal order (from the start when null).</summary>
    [ReadOnly]
    Task<ImmutableArray<string>> List(string? after, int limit);
}

/// <summary>
/// A sealed page of a directory bucket, keyed <c>{channelId}/{bucket}/{page}</c>: ids moved out of the bucket's open
/// page once it filled, written once (again only when a crash interrupted the sealing), then only read.
/// </summary>
public interface IFriendDirectoryPageGrain : IGrainWithStringKey
{
    /// <summary>Stores the page's ids (sorted ordinally), replacing what an interrupted sealing left.</summary>
    Task Store(ImmutableArray<string> lineUserIds);

    [ReadOnly]
    Task<ImmutableArray<string>> List(string? after, int limit);
}

public static class FriendDirectory
{
    /// <summary>
    /// Ids a bucket keeps in its own row before sealing them into a page: each new friend rewrites only this open page,
    /// so the cost of listing a friend stays flat however many friends the channel has. Small, because that rewrite is
    /// on every new friend's path: at 256 ids, serialising the open page was ~8 % of an embedded host's CPU at full
    /// webhook ingest (benchmarks/history.md, session 10). Campaigns pay instead, one page read more per 64 friends.
    /// Not part of the stored layout: pages of any size are read alike, and a larger open page seals on its next write.
    /// </summary>
    public const int PageSize = 64;

    /// <summary>The persisted state names of buckets and pages (stored with the friends, <see cref="StorageNames.Friends"/>).</summary>
    public const string BucketStateName = "friend-directory";
    public const string PageStateName = "friend-directory-page";

    /// <summary>Earlier releases kept buckets and pages in the default grain storage (see docs/operations.md).</summary>
    public static bool IsDirectoryState(string stateName) => stateName is BucketStateName or PageStateName;

    /// <summary>Buckets per channel. Part of the stored layout: changing it strands the friends already listed.</summary>
    public const int Buckets = 1024;

    /// <summary>FNV-1a over the id's characters: stable across processes and versions, unlike string.GetHashCode.</summary>
    public static int BucketOf(string lineUserId)
    {
        var hash = 2166136261u;
        foreach (var c in lineUserId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Buckets);
    }

    public static IFriendDirectoryGrain Bucket(IGrainFactory grains, string channelId, int bucket) =>
        grains.GetGrainInSilo<IFriendDirectoryGrain>($"{channelId}/{bucket}");

    public static IFriendDirectoryPageGrain Page(IGrainFactory grains, string bucketKey, int page) =>
        grains.GetGrainInSilo<IFriendDirectoryPageGrain>($"{bucketKey}/{page}");

    /// <summary>Up to <paramref name="limit"/> ids of a sorted list after <paramref name="after"/>.</summary>
    public static ImmutableArray<string> Slice(IReadOnlyList<string> sorted, string? after, int limit)
    {
        var from = 0;
        if (after is not null)
        {
            from = BinarySearch(sorted, after);
            from = from >= 0 ? from + 1 : ~from;
        }

        var builder = ImmutableArray.CreateBuilder<string>(Math.Max(0, Math.Min(limit, sorted.Count - from)));
        for (var i = from; i < sorted.Count && builder.Count < limit; i++)
        {
            builder.Add(sorted[i]);
        }

        return builder.MoveToImmutable();
    }

    /// <summary>The index of <paramref name="value"/>, or the complement of where it would go.</summary>
    private static int BinarySearch(IReadOnlyList<string> sorted, string value)
    {
        var (low, high) = (0, sorted.Count - 1);
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var order = string.CompareOrdinal(sorted[middle], value);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return ~low;
    }

    public static Task AddAsync(IGrainFactory grains, FriendKey friend) =>
        Bucket(grains, friend.ChannelId, BucketOf(friend.LineUserId)).Add(friend.LineUserId);
}
