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

public static class FriendDirectory
{
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
        grains.GetGrain<IFriendDirectoryGrain>($"{channelId}/{bucket}");

    public static Task AddAsync(IGrainFactory grains, FriendKey friend) =>
        Bucket(grains, friend.ChannelId, BucketOf(friend.LineUserId)).Add(friend.LineUserId);
}
