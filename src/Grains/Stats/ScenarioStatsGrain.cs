using System.Collections.Immutable;
using System.Globalization;

namespace Stepcast.Grains.Stats;

/// <summary>The persisted counters of one scenario. [Id] numbers are persisted: never reuse or renumber them.</summary>
[GenerateSerializer]
public sealed class ScenarioStatsState
{
    [Id(0)] public long Entered { get; set; }
    [Id(1)] public Dictionary<string, StepStats> Steps { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Step id → UTC day ("yyyy-MM-dd", plain strings so JSON storage needs no special keys) → runs due.</summary>
    [Id(2)] public Dictionary<string, Dictionary<string, long>> ActiveRuns { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public DateTimeOffset? UpdatedAt { get; set; }
    /// <summary>Per collector: the last sequence applied and when, so a retried delta is not counted twice.</summary>
    [Id(4)] public Dictionary<string, AppliedDelta> Sources { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer]
public sealed class AppliedDelta
{
    [Id(0)] public long Sequence { get; set; }
    [Id(1)] public DateTimeOffset At { get; set; }
}

public sealed class ScenarioStatsGrain(
    [PersistentState("scenario-stats")] IPersistentState<ScenarioStatsState> state,
    TimeProvider timeProvider) : Grain, IScenarioStatsGrain
{
    private const string DayFormat = "yyyy-MM-dd";

    /// <summary>A collector retries within seconds; one not heard from for this long has stopped with its silo.</summary>
    private static readonly TimeSpan ForgetSourcesAfter = TimeSpan.FromDays(1);

    private ScenarioStatsState Stats => state.State;

    async Task IScenarioStatsGrain.Add(ScenarioStatsDelta delta)
    {
        var now = timeProvider.GetUtcNow();
        if (delta.Source is { } source)
        {
            if (Stats.Sources.TryGetValue(source, out var applied) && delta.Sequence <= applied.Sequence)
            {
                return;
            }

            Stats.Sources[source] = new AppliedDelta { Sequence = delta.Sequence, At = now };
            foreach (var stale in Stats.Sources.Where(s => now - s.Value.At > ForgetSourcesAfter).Select(s => s.Key).ToList())
            {
                Stats.Sources.Remove(stale);
            }
        }

        Stats.Entered += delta.Entered;
        foreach (var (stepId, step) in delta.Steps)
        {
            Stats.Steps[stepId] = Stats.Steps.TryGetValue(stepId, out var existing) ? existing.Plus(step) : step;
        }

        foreach (var change in delta.ActiveRuns)
        {
            if (!Stats.ActiveRuns.TryGetValue(change.StepId, out var days))
            {
                Stats.ActiveRuns[change.StepId] = days = new Dictionary<string, long>(StringComparer.Ordinal);
            }

            var day = change.Day.ToString(DayFormat, CultureInfo.InvariantCulture);
            var runs = days.GetValueOrDefault(day) + change.Runs;
            if (runs == 0)
            {
                days.Remove(day);
            }
            else
            {
                days[day] = runs;
            }

            if (days.Count == 0)
            {
                Stats.ActiveRuns.Remove(change.StepId);
            }
        }

        Stats.UpdatedAt = now;
        await state.WriteStateAsync();
    }

    Task<ScenarioStats> IScenarioStatsGrain.GetStats()
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return Task.FromResult(new ScenarioStats
        {
            ChannelId = key[..slash],
            ScenarioId = key[(slash + 1)..],
            Entered = Stats.Entered,
            Steps = Stats.Steps.ToImmutableDictionary(StringComparer.Ordinal),
            UpdatedAt = Stats.UpdatedAt,
        });
    }

    Task<ImmutableArray<ActiveRunsAtStep>> IScenarioStatsGrain.GetActiveRuns() =>
        Task.FromResult(Stats.ActiveRuns
            .OrderBy(step => step.Key, StringComparer.Ordinal)
            .Select(step => new ActiveRunsAtStep
            {
                StepId = step.Key,
                Days = [.. step.Value
                    .Select(day => new ActiveRunsOnDay(DateOnly.ParseExact(day.Key, DayFormat, CultureInfo.InvariantCulture), day.Value))
                    .OrderBy(day => day.Day)],
            })
            .ToImmutableArray());
}
