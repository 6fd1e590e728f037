using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Delivery;

/// <summary>
/// One answer to a friend's message through LINE's reply API. Replies are free (never counted against the monthly
/// quota) but the reply token is single-use and expires about a minute after the event, so a reply has no retry key
/// and is never scheduled for later: it is sent now or not at all.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ReplyRequest
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string LineUserId { get; init; }
    [Id(2)] public required string ReplyToken { get; init; }
    [Id(3)] public required ImmutableArray<LineMessage> Messages { get; init; }
    /// <summary>The keyword of the auto-reply rule that answered, for the sandbox's record.</summary>
    [Id(4)] public string? Keyword { get; init; }
}
