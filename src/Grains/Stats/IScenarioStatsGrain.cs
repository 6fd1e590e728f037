using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Stepcast.Grains.Stats;

/// <summary>
/// The counters of one scenario, keyed <c>{channelId}/{scenarioId}</c> (see <see cref="ScenarioStatsKey"/>). Silos
/// add what their friend grains counted every <see cref="StatsOptions.FlushInterval"/> (see <see cref="StatsCollector"/>):
/// the figures are eventually consistent, and a silo that crashes loses the deltas it had not flushed yet.
/// </summary>
public interface IScenarioStatsGrain : IGrainWithStringKey
{
    /// <summary>Adds a delta; a delta already applied (same source, a sequence not above the last one applied) changes nothing.</summary>
    Task Add(ScenarioStatsDelta delta);

    [ReadOnly]
    Task<ScenarioStats> GetStats();

    /// <summary>
    /// Runs in progress by the step they will carry out next and the UTC day it is due: what the scenario will send
    /// (for the quota forecast). Suspended runs (blocked friends) are not counted.
    /// </summary>
    [ReadOnly]
    Task<ImmutableArray<ActiveRunsAtStep>> GetActiveRuns();
}

public static class ScenarioStatsKey
{
    public static string Format(string channelId, string scenarioId) => $"{channelId}/{scenarioId}";
}

/// <summary>What one silo counted for one scenario since its last flush.</summary>
[GenerateSerializer, Immutable]
public sealed record ScenarioStatsDelta
{
    /// <summary>Runs started.</summary>
    [Id(0)] public long Entered { get; init; }
    [Id(1)] public ImmutableDictionary<string, StepStats> Steps { get; init; } = ImmutableDictionary<string, StepStats>.Empty;
    [Id(2)] public ImmutableArray<ActiveRunsChange> ActiveRuns { get; init; } = [];
    /// <summary>The collector that sent it (one per silo start) and its number there: a retried delta is applied once.</summary>
    [Id(3)] public string? Source { get; init; }
    [Id(4)] public long Sequence { get; init; }
}

/// <summary>Runs that arrived at (positive) or left (negative) a step due on a day.</summary>
[GenerateSerializer, Immutable]
public sealed record ActiveRunsChange([property: Id(0)] string StepId, [property: Id(1)] DateOnly Day, [property: Id(2)] long Runs);

[GenerateSerializer, Immutable]
public sealed record ScenarioStats
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string ScenarioId { get; init; }
    [Id(2)] public long Entered { get; init; }
    [Id(3)] public ImmutableDictionary<string, StepStats> Steps { get; init; } = ImmutableDictionary<string, StepStats>.Empty;
    [Id(4)] public DateTimeOffset? UpdatedAt { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record ActiveRunsAtStep
{
    [Id(0)] public required string StepId { get; init; }
    /// <summary>Runs due on each UTC day, earliest first; a day in the past holds runs that are overdue (held, retrying).</summary>
    [Id(1)] public ImmutableArray<ActiveRunsOnDay> Days { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record ActiveRunsOnDay([property: Id(0)] DateOnly Day, [property: Id(1)] long Runs);
