namespace Stepcast.Grains.Stats;

/// <summary>Scenario statistics settings, bound from <c>Stepcast:Stats</c>.</summary>
public sealed class StatsOptions
{
    public const string SectionName = "Stepcast:Stats";

    /// <summary>
    /// How often each silo sends its counters to the scenario stats grains; also what a silo crash can lose.
    /// Wall-clock time, whatever the engine's clock does.
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long after a send of a scenario its conversion event still counts as a conversion.</summary>
    public TimeSpan ConversionWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>A block this soon after a send counts against the step sent.</summary>
    public TimeSpan BlockedWithin { get; set; } = TimeSpan.FromHours(24);
}
