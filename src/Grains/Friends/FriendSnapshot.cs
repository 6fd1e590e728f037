using System.Collections.Immutable;

namespace Stepcast.Grains.Friends;

/// <summary>A read-only copy of a friend, for the API and tests.</summary>
[GenerateSerializer, Immutable]
public sealed record FriendSnapshot
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string LineUserId { get; init; }
    [Id(2)] public FriendStatus Status { get; init; }
    [Id(3)] public DateTimeOffset? FollowedAt { get; init; }
    [Id(4)] public DateTimeOffset? BlockedAt { get; init; }
    [Id(5)] public string? DisplayName { get; init; }
    [Id(6)] public ImmutableDictionary<string, string> Attributes { get; init; } = ImmutableDictionary<string, string>.Empty;
    [Id(7)] public ImmutableArray<string> Tags { get; init; } = [];
    [Id(8)] public ImmutableArray<EnrollmentView> Enrollments { get; init; } = [];
    [Id(9)] public ImmutableArray<HistoryEntry> History { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record EnrollmentView
{
    [Id(0)] public required string ScenarioId { get; init; }
    [Id(1)] public int Version { get; init; }
    [Id(2)] public string? StepId { get; init; }
    [Id(3)] public DateTimeOffset DueAt { get; init; }
    [Id(4)] public string? AwaitedEvent { get; init; }
    [Id(5)] public DateTimeOffset EnteredAt { get; init; }
    [Id(6)] public bool Suspended { get; init; }
    [Id(7)] public string Source { get; init; } = "";
    /// <summary>Set while the send waits for the month's budget: when it was first due.</summary>
    [Id(8)] public DateTimeOffset? HeldForQuotaSince { get; init; }
}
