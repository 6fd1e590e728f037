namespace Stepcast.Grains.Friends;

/// <summary>A friend grain's key: the channel and the friend's LINE user id, <c>{channelId}/{lineUserId}</c>.</summary>
public readonly record struct FriendKey(string ChannelId, string LineUserId)
{
    public override string ToString() => $"{ChannelId}/{LineUserId}";

    public static FriendKey Parse(string key)
    {
        var slash = key.IndexOf('/');
        if (slash <= 0 || slash == key.Length - 1)
        {
            throw new FormatException($"A friend key is '{{channelId}}/{{lineUserId}}', not '{key}'.");
        }

        return new FriendKey(key[..slash], key[(slash + 1)..]);
    }
}

public static class FriendGrainFactoryExtensions
{
    public static IFriendGrain GetFriend(this IGrainFactory grains, string channelId, string lineUserId) =>
        grains.GetGrain<IFriendGrain>(new FriendKey(channelId, lineUserId).ToString());

    /// <summary>The same from grain code, with the grain type resolved once (see <see cref="SiloGrainReferences"/>).</summary>
    public static IFriendGrain GetFriendInSilo(this IGrainFactory grains, string channelId, string lineUserId) =>
        grains.GetGrainInSilo<IFriendGrain>(new FriendKey(channelId, lineUserId).ToString());
}
