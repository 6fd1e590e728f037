using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// One step of a scenario. After a step the friend moves to <see cref="Next"/> when set,
/// otherwise to the step that follows it in the list; past the last step the run completes.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(WaitStep), "wait")]
[JsonDerivedType(typeof(WaitForEventStep), "waitForEvent")]
[JsonDerivedType(typeof(BranchStep), "branch")]
[JsonDerivedType(typeof(SplitStep), "split")]
[JsonDerivedType(typeof(SendStep), "send")]
[JsonDerivedType(typeof(TagStep), "tag")]
[JsonDerivedType(typeof(ExitStep), "exit")]
[GenerateSerializer, Immutable]
public abstract record ScenarioStep
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public string? Next { get; init; }
}

/// <summary>
/// Waits a relative time (<see cref="Days"/> + <see cref="Hours"/> + <see cref="Minutes"/>), or, when
/// <see cref="At"/> is set, until that local time (HH:mm) on the day <see cref="Days"/> calendar days after
/// the wait starts, in the scenario's time zone. A due time inside quiet hours moves to the end of them.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WaitStep : ScenarioStep
{
    [Id(0)] public int Days { get; init; }
    [Id(1)] public int Hours { get; init; }
    [Id(2)] public int Minutes { get; init; }
    [Id(3)] public string? At { get; init; }
    [Id(4)] public ImmutableArray<QuietHours> QuietHours { get; init; } = [];
}

/// <summary>A daily window (local time, HH:mm, may cross midnight) in which nothing is sent.</summary>
[GenerateSerializer, Immutable]
public sealed record QuietHours
{
    [Id(0)] public required string Start { get; init; }
    [Id(1)] public required string End { get; init; }
}

/// <summary>A length of time, e.g. <c>{"days": 3}</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record Duration
{
    [Id(0)] public int Days { get; init; }
    [Id(1)] public int Hours { get; init; }
    [Id(2)] public int Minutes { get; init; }

    public TimeSpan ToTimeSpan() => new(Days, Hours, Minutes, 0);
}

/// <summary>Waits until the friend has event <see cref="Event"/>, at most <see cref="Timeout"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record WaitForEventStep : ScenarioStep
{
    [Id(0)] public required string Event { get; init; }
    [Id(1)] public required Duration Timeout { get; init; }
    /// <summary>Step taken when the event arrives in time (default: the following step).</summary>
    [Id(2)] public string? OnEvent { get; init; }
    /// <summary>Step taken when the timeout passes first (default: the following step).</summary>
    [Id(3)] public string? OnTimeout { get; init; }
}

/// <summary>Takes the first case whose condition holds, else <see cref="Otherwise"/> (default: the following step).</summary>
[GenerateSerializer, Immutable]
public sealed record BranchStep : ScenarioStep
{
    [Id(0)] public ImmutableArray<BranchCase> Cases { get; init; } = [];
    [Id(1)] public string? Otherwise { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record BranchCase
{
    [Id(0)] public required Condition When { get; init; }
    [Id(1)] public required string Goto { get; init; }
}

/// <summary>
/// Random A/B split: each friend lands in one variant by a stable hash, so a replayed step gives the same answer.
/// Friends in the holdout end the run without further messages (a control group).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SplitStep : ScenarioStep
{
    [Id(0)] public ImmutableArray<SplitVariant> Variants { get; init; } = [];
    [Id(1)] public int HoldoutPercent { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record SplitVariant
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public int Percent { get; init; }
    [Id(2)] public required string Goto { get; init; }
}

/// <summary>Sends 1–5 LINE message objects (push). Strings may contain placeholders such as {displayName}.</summary>
[GenerateSerializer, Immutable]
public sealed record SendStep : ScenarioStep
{
    [Id(0)] public ImmutableArray<LineMessage> Messages { get; init; } = [];

    /// <summary>
    /// Replaces the links of the messages (uri actions, text URLs) with per-friend redirect links that count
    /// clicks; the messages then go to each friend separately.
    /// </summary>
    [Id(1)] public bool TrackClicks { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record TagStep : ScenarioStep
{
    [Id(0)] public ImmutableArray<string> Add { get; init; } = [];
    [Id(1)] public ImmutableArray<string> Remove { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record ExitStep : ScenarioStep;
