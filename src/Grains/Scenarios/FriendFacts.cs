namespace Stepcast.Grains.Scenarios;

/// <summary>What a branch condition may look at: a read-only view of one friend inside one run.</summary>
public sealed record FriendFacts
{
    public required string FriendKey { get; init; }
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    public IReadOnlySet<string> Tags { get; init; } = new HashSet<string>();
    public IReadOnlyList<SeenEvent> Events { get; init; } = [];
    public string? LastReplyText { get; init; }
    public DateTimeOffset? LastReplyAt { get; init; }
    /// <summary>When the friend entered the current run of the scenario.</summary>
    public DateTimeOffset EnteredAt { get; init; }
}

/// <summary>An event the friend had (store event or custom), by name and time.</summary>
[GenerateSerializer, Immutable]
public sealed record SeenEvent([property: Id(0)] string Name, [property: Id(1)] DateTimeOffset At);
