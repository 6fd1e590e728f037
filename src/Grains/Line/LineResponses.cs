namespace Stepcast.Grains.Line;

/// <summary>A friend's profile (<c>GET /v2/bot/profile/{userId}</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record LineProfile(
    [property: Id(0)] string UserId,
    [property: Id(1)] string DisplayName,
    [property: Id(2)] string? PictureUrl,
    [property: Id(3)] string? StatusMessage,
    [property: Id(4)] string? Language);

/// <summary>The channel's monthly message target (<c>GET /v2/bot/message/quota</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record LineMessageQuota(
    [property: Id(0)] string Type,
    [property: Id(1)] long? Value)
{
    /// <summary>True when the channel has a monthly limit (<c>type</c> = <c>limited</c>); <see cref="Value"/> is then the limit.</summary>
    public bool IsLimited => string.Equals(Type, "limited", StringComparison.Ordinal);
}

/// <summary>Messages sent this month (<c>GET /v2/bot/message/quota/consumption</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record LineQuotaConsumption([property: Id(0)] long TotalUsage);

/// <summary>Status of a narrowcast (<c>GET /v2/bot/message/progress/narrowcast</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record LineNarrowcastProgress(
    [property: Id(0)] string Phase,
    [property: Id(1)] long? SuccessCount,
    [property: Id(2)] long? FailureCount,
    [property: Id(3)] long? TargetCount,
    [property: Id(4)] string? FailedDescription,
    [property: Id(5)] long? ErrorCode,
    [property: Id(6)] DateTimeOffset? AcceptedTime,
    [property: Id(7)] DateTimeOffset? CompletedTime);

/// <summary>The audience group LINE created from an upload (<c>POST /v2/bot/audienceGroup/upload</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record LineAudienceGroup(
    [property: Id(0)] long AudienceGroupId,
    [property: Id(1)] string? Type,
    [property: Id(2)] string? Description,
    [property: Id(3)] long? Created,
    [property: Id(4)] string? Permission,
    [property: Id(5)] long? ExpireTimestamp,
    [property: Id(6)] bool? IsIfaAudience);
