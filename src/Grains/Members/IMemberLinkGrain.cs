namespace Stepcast.Grains.Members;

/// <summary>
/// ID linking: the brand's own member id (its customer account) tied to one friend of one channel, keyed
/// <c>{channelId}/{memberId}</c> (see <see cref="MemberLinkKey"/>). Lets the brand's systems post events and read
/// friends by the id they know. A member id names the brand's customer, never a friend.
/// </summary>
public interface IMemberLinkGrain : IGrainWithStringKey
{
    /// <summary>Links (or re-links) the member id to a friend's LINE user id.</summary>
    Task<MemberLink> Link(string lineUserId);

    /// <summary>False when the member id was not linked.</summary>
    Task<bool> Unlink();

    [Orleans.Concurrency.ReadOnly]
    Task<MemberLink?> Get();
}

/// <summary>[Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer, Immutable]
public sealed record MemberLink
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string MemberId { get; init; }
    [Id(2)] public required string LineUserId { get; init; }
    [Id(3)] public DateTimeOffset LinkedAt { get; init; }
}

public static class MemberLinkKey
{
    public static string Format(string channelId, string memberId) => $"{channelId}/{memberId}";

    public static IMemberLinkGrain GetMemberLink(this IGrainFactory grains, string channelId, string memberId) =>
        grains.GetGrain<IMemberLinkGrain>(Format(channelId, memberId));
}
