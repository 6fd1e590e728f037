namespace Stepcast.Grains.Stats;

/// <summary>What is counted per scenario step.</summary>
public enum StepCounter
{
    /// <summary>A run reached the step.</summary>
    Entered,
    Sent,
    Failed,
    SkippedQuota,
    SkippedFrequencyCap,
    SkippedBlocked,
    SkippedOther,
    /// <summary>A friend followed one of the step's tracked links.</summary>
    Clicked,
    /// <summary>The scenario's conversion event followed this step, the last the friend was sent.</summary>
    Converted,
    /// <summary>The friend blocked the account within 24 hours after this step was sent to it.</summary>
    BlockedWithin24h,
}

/// <summary>The counters of one scenario step. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer, Immutable]
public sealed record StepStats
{
    [Id(0)] public long Entered { get; init; }
    [Id(1)] public long Sent { get; init; }
    [Id(2)] public long Failed { get; init; }
    [Id(3)] public long SkippedQuota { get; init; }
    [Id(4)] public long SkippedFrequencyCap { get; init; }
    [Id(5)] public long SkippedBlocked { get; init; }
    [Id(6)] public long SkippedOther { get; init; }
    [Id(7)] public long Clicked { get; init; }
    [Id(8)] public long Converted { get; init; }
    [Id(9)] public long BlockedWithin24h { get; init; }

    public static StepStats Zero { get; } = new();

    public StepStats Plus(StepStats other) => new()
    {
        Entered = Entered + other.Entered,
        Sent = Sent + other.Sent,
        Failed = Failed + other.Failed,
        SkippedQuota = SkippedQuota + other.SkippedQuota,
        SkippedFrequencyCap = SkippedFrequencyCap + other.SkippedFrequencyCap,
        SkippedBlocked = SkippedBlocked + other.SkippedBlocked,
        SkippedOther = SkippedOther + other.SkippedOther,
        Clicked = Clicked + other.Clicked,
        Converted = Converted + other.Converted,
        BlockedWithin24h = BlockedWithin24h + other.BlockedWithin24h,
    };

    /// <summary>The counters from their values indexed by <see cref="StepCounter"/>.</summary>
    public static StepStats FromCounts(ReadOnlySpan<long> counts) => new()
    {
        Entered = counts[(int)StepCounter.Entered],
        Sent = counts[(int)StepCounter.Sent],
        Failed = counts[(int)StepCounter.Failed],
        SkippedQuota = counts[(int)StepCounter.SkippedQuota],
        SkippedFrequencyCap = counts[(int)StepCounter.SkippedFrequencyCap],
        SkippedBlocked = counts[(int)StepCounter.SkippedBlocked],
        SkippedOther = counts[(int)StepCounter.SkippedOther],
        Clicked = counts[(int)StepCounter.Clicked],
        Converted = counts[(int)StepCounter.Converted],
        BlockedWithin24h = counts[(int)StepCounter.BlockedWithin24h],
    };

    /// <summary>
    /// Which skip counter a <c>Skipped</c> history entry goes to, by its detail: "quota…", "frequency cap…" and
    /// "blocked…" have counters of their own, anything else is "other".
    /// </summary>
    public static StepCounter SkipCounterFor(string? detail) =>
        detail is null ? StepCounter.SkippedOther
        : detail.Contains("quota", StringComparison.OrdinalIgnoreCase) ? StepCounter.SkippedQuota
        : detail.Contains("frequency", StringComparison.OrdinalIgnoreCase) ? StepCounter.SkippedFrequencyCap
        : detail.Contains("block", StringComparison.OrdinalIgnoreCase) ? StepCounter.SkippedBlocked
        : StepCounter.SkippedOther;
}
