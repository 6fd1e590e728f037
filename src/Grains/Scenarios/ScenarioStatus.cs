using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Stepcast.Grains.Scenarios;

[JsonConverter(typeof(JsonStringEnumConverter<ScenarioStatus>))]
public enum ScenarioStatus
{
    /// <summary>Never published: nobody enters.</summary>
    Draft,
    /// <summary>Friends enter on its triggers and runs proceed.</summary>
    Published,
    /// <summary>Nobody new enters; runs in progress hold their due steps until resumed.</summary>
    Paused,
    /// <summary>Retired: nobody enters; runs in progress end at their next step.</summary>
    Archived,
}

/// <summary>
/// What a friend grain needs to know of a scenario to decide entries without loading the whole definition:
/// its status, the version new entrants get, and that version's triggers and policies.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ScenarioSummary
{
    [Id(0)] public required string ScenarioId { get; init; }
    [Id(1)] public required ScenarioStatus Status { get; init; }
    [Id(2)] public required int CurrentVersion { get; init; }
    [Id(3)] public ImmutableArray<ScenarioTrigger> Triggers { get; init; } = [];
    [Id(4)] public ValidityPeriod? Validity { get; init; }
    [Id(5)] public ReentryPolicy Reentry { get; init; }
    [Id(6)] public UnblockPolicy OnUnblock { get; init; }

    public static ScenarioSummary Of(ScenarioDefinition published, ScenarioStatus status, int version) => new()
    {
        ScenarioId = published.Id,
        Status = status,
        CurrentVersion = version,
        Triggers = published.Triggers,
        Validity = published.Validity,
        Reentry = published.Reentry,
        OnUnblock = published.OnUnblock,
    };

    public bool AdmitsNewEntries => Status == ScenarioStatus.Published;
}
