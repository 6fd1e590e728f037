using System.Collections.Immutable;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// One scenario of one channel, keyed <c>{channelId}/{scenarioId}</c> (see <see cref="ScenarioKey"/>).
/// Holds the editable draft and the immutable published versions; a friend stays on the version it entered on.
/// </summary>
public interface IScenarioGrain : IGrainWithStringKey
{
    Task<ScenarioView?> Get();

    /// <summary>Saves the draft when it is well-formed; returns every validation problem either way.</summary>
    Task<ImmutableArray<ValidationProblem>> SaveDraft(ScenarioDefinition draft);

    /// <summary>Publishes the draft as a new version, unless it has validation problems.</summary>
    Task<PublishResult> Publish();

    Task<ScenarioView> Pause();
    Task<ScenarioView> Resume();
    Task<ScenarioView> Archive();

    /// <summary>A published version (1-based), or null when there is no such version.</summary>
    Task<ScenarioDefinition?> GetVersion(int version);
}

[GenerateSerializer, Immutable]
public sealed record ScenarioView
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string ScenarioId { get; init; }
    [Id(2)] public required ScenarioStatus Status { get; init; }
    [Id(3)] public ScenarioDefinition? Draft { get; init; }
    /// <summary>0 while never published.</summary>
    [Id(4)] public int CurrentVersion { get; init; }
    [Id(5)] public ImmutableArray<ScenarioVersionInfo> Versions { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record ScenarioVersionInfo([property: Id(0)] int Version, [property: Id(1)] DateTimeOffset PublishedAt);

[GenerateSerializer, Immutable]
public sealed record PublishResult
{
    [Id(0)] public ScenarioView? Scenario { get; init; }
    [Id(1)] public ImmutableArray<ValidationProblem> Problems { get; init; } = [];

    public bool Published => Problems.IsEmpty && Scenario is not null;
}

public static class ScenarioKey
{
    public static string Format(string channelId, string scenarioId) => $"{channelId}/{scenarioId}";
}
