using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// A planned series of steps for the friends of one LINE channel. Serialised as JSON (docs/scenarios.md)
/// and by Orleans; the [Id] numbers are part of persisted state and must never be reused or renumbered.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ScenarioDefinition
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Title { get; init; }
    [Id(2)] public required string ChannelId { get; init; }

    /// <summary>IANA time zone used for "n days later at HH:mm" and quiet hours.</summary>
    [Id(3)] public string TimeZone { get; init; } = "Asia/Tokyo";

    /// <summary>Only friends whose trigger falls inside this period enter.</summary>
    [Id(4)] public ValidityPeriod? Validity { get; init; }

    [Id(5)] public ImmutableArray<ScenarioTrigger> Triggers { get; init; } = [];
    [Id(6)] public ReentryPolicy Reentry { get; init; } = ReentryPolicy.Never;
    [Id(7)] public UnblockPolicy OnUnblock { get; init; } = UnblockPolicy.Restart;
    [Id(8)] public ImmutableArray<ScenarioStep> Steps { get; init; } = [];

    /// <summary>When the month's budget is short, higher priorities go first (e.g. order confirmations before nurture).</summary>
    [Id(9)] public SendPriority Priority { get; init; } = SendPriority.Normal;

    /// <summary>Sends that bypass the channel's per-friend frequency caps (transactional messages a friend asked for).</summary>
    [Id(10)] public bool IgnoreFrequencyCap { get; init; }

    /// <summary>
    /// An event (e.g. <c>purchased</c>) that counts as a conversion for this scenario, and for the last step sent,
    /// when a friend has it within <c>Stepcast:Stats:ConversionWindow</c> after one of the scenario's sends.
    /// </summary>
    [Id(11)] public string? ConversionEvent { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<SendPriority>))]
public enum SendPriority
{
    Low,
    Normal,
    High,
}

[GenerateSerializer, Immutable]
public sealed record ValidityPeriod
{
    [Id(0)] public DateTimeOffset? From { get; init; }
    [Id(1)] public DateTimeOffset? Until { get; init; }

    public bool Contains(DateTimeOffset at) => (From is null || at >= From) && (Until is null || at < Until);
}

[JsonConverter(typeof(JsonStringEnumConverter<ReentryPolicy>))]
public enum ReentryPolicy
{
    /// <summary>A friend enters the scenario at most once.</summary>
    Never,
    /// <summary>A friend may enter again once the previous run has ended.</summary>
    AfterCompletion,
    /// <summary>Every trigger enters again; a run in progress restarts from the first step.</summary>
    Always,
}

[JsonConverter(typeof(JsonStringEnumConverter<UnblockPolicy>))]
public enum UnblockPolicy
{
    /// <summary>Start again from the first step (LINE's own behaviour for friend-add messages).</summary>
    Restart,
    /// <summary>Continue from the step the friend was on when they blocked.</summary>
    Resume,
    /// <summary>The run ended with the block; an unblock does nothing.</summary>
    Ignore,
}

/// <summary>What starts a scenario for a friend.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(FollowTrigger), "follow")]
[JsonDerivedType(typeof(EventTrigger), "event")]
[JsonDerivedType(typeof(KeywordTrigger), "keyword")]
[JsonDerivedType(typeof(TagAddedTrigger), "tagAdded")]
[JsonDerivedType(typeof(ApiTrigger), "api")]
[GenerateSerializer, Immutable]
public abstract record ScenarioTrigger;

/// <summary>The friend added the account (an unblock is governed by <see cref="UnblockPolicy"/>).</summary>
[GenerateSerializer, Immutable]
public sealed record FollowTrigger : ScenarioTrigger;

/// <summary>A store or custom event, e.g. <c>cart_abandoned</c>, posted through the API.</summary>
[GenerateSerializer, Immutable]
public sealed record EventTrigger : ScenarioTrigger
{
    [Id(0)] public required string Name { get; init; }
}

/// <summary>The friend sent a text message matching one of the keywords.</summary>
[GenerateSerializer, Immutable]
public sealed record KeywordTrigger : ScenarioTrigger
{
    [Id(0)] public ImmutableArray<string> Keywords { get; init; } = [];
    [Id(1)] public KeywordMatch Match { get; init; } = KeywordMatch.Exact;
}

/// <summary>A tag was added to the friend.</summary>
[GenerateSerializer, Immutable]
public sealed record TagAddedTrigger : ScenarioTrigger
{
    [Id(0)] public required string Tag { get; init; }
}

/// <summary>Started by an API client for an audience (a campaign).</summary>
[GenerateSerializer, Immutable]
public sealed record ApiTrigger : ScenarioTrigger;

[JsonConverter(typeof(JsonStringEnumConverter<KeywordMatch>))]
public enum KeywordMatch
{
    /// <summary>The whole message equals a keyword (trimmed, case-insensitive).</summary>
    Exact,
    /// <summary>The message contains a keyword (case-insensitive).</summary>
    Contains,
}
