using System.Collections.Immutable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Stepcast.Grains.Stats;

/// <summary>
/// A silo-local buffer of scenario counters: friend grains count here in memory (no grain call per send), and every
/// <see cref="StatsOptions.FlushInterval"/> the sums go to one <see cref="IScenarioStatsGrain"/> per scenario. A flush
/// that fails is merged back and tried again; deltas not yet flushed when a silo crashes are lost, so the figures may
/// fall short by about one interval's worth of that silo's activity (and a flush whose answer was lost may count twice).
/// </summary>
public sealed partial class StatsCollector(IGrainFactory grains, IOptions<StatsOptions> options, ILogger<StatsCollector> logger) : BackgroundService
{
    private readonly Lock _lock = new();
    private Dictionary<(string ChannelId, string ScenarioId), PendingDelta> _pending = [];

    public void Count(string channelId, string scenarioId, string stepId, StepCounter counter, long by = 1)
    {
        lock (_lock)
        {
            var pending = PendingFor(channelId, scenarioId);
            pending.Steps[stepId] = pending.Steps.GetValueOrDefault(stepId, StepStats.Zero).Plus(counter, by);
        }
    }

    public void CountEntered(string channelId, string scenarioId)
    {
        lock (_lock)
        {
            PendingFor(channelId, scenarioId).Entered++;
        }
    }

    /// <summary>Runs that moved: +1 for each run now due at (step, day), −1 for where it was before.</summary>
    public void MoveActiveRuns(string channelId, IEnumerable<KeyValuePair<ActiveRunKey, int>> changes)
    {
        lock (_lock)
        {
            foreach (var (key, runs) in changes)
            {
                var pending = PendingFor(channelId, key.ScenarioId);
                var at = (key.StepId, key.Day);
                pending.ActiveRuns[at] = pending.ActiveRuns.GetValueOrDefault(at) + runs;
            }
        }
    }

    /// <summary>Sends every counter buffered so far to the scenario stats grains.</summary>
    public async Task FlushAsync()
    {
        Dictionary<(string ChannelId, string ScenarioId), PendingDelta> taken;
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            taken = _pending;
            _pending = [];
        }

        await Task.WhenAll(taken.Select(async entry =>
        {
            try
            {
                await grains.GetGrain<IScenarioStatsGrain>(ScenarioStatsKey.Format(entry.Key.ChannelId, entry.Key.ScenarioId))
                    .Add(entry.Value.ToDelta());
            }
            catch (Exception exception)
            {
                LogFlushFailed(exception, entry.Key.ChannelId, entry.Key.ScenarioId);
                lock (_lock)
                {
                    PendingFor(entry.Key.ChannelId, entry.Key.ScenarioId).Merge(entry.Value);
                }
            }
        }));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the last flush follows in StopAsync.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException or OrleansException)
        {
            LogFinalFlushFailed(exception);
        }
    }

    private PendingDelta PendingFor(string channelId, string scenarioId)
    {
        if (!_pending.TryGetValue((channelId, scenarioId), out var pending))
        {
            _pending[(channelId, scenarioId)] = pending = new PendingDelta();
        }

        return pending;
    }

    [LoggerMessage(LogLevel.Warning, "Could not flush the stats of {ChannelId}/{ScenarioId}; kept for the next flush")]
    private partial void LogFlushFailed(Exception exception, string channelId, string scenarioId);

    [LoggerMessage(LogLevel.Warning, "The last stats flush before the silo stopped failed; its counters are lost")]
    private partial void LogFinalFlushFailed(Exception exception);

    private sealed class PendingDelta
    {
        public long Entered;
        public readonly Dictionary<string, StepStats> Steps = new(StringComparer.Ordinal);
        public readonly Dictionary<(string StepId, DateOnly Day), long> ActiveRuns = [];

        public void Merge(PendingDelta other)
        {
            Entered += other.Entered;
            foreach (var (stepId, step) in other.Steps)
            {
                Steps[stepId] = Steps.GetValueOrDefault(stepId, StepStats.Zero).Plus(step);
            }

            foreach (var (at, runs) in other.ActiveRuns)
            {
                ActiveRuns[at] = ActiveRuns.GetValueOrDefault(at) + runs;
            }
        }

        public ScenarioStatsDelta ToDelta() => new()
        {
            Entered = Entered,
            Steps = Steps.ToImmutableDictionary(StringComparer.Ordinal),
            ActiveRuns = [.. ActiveRuns.Where(a => a.Value != 0).Select(a => new ActiveRunsChange(a.Key.StepId, a.Key.Day, a.Value))],
        };
    }
}

/// <summary>Where a run stands for the active-runs gauge: the step it will carry out next and the UTC day it is due.</summary>
public readonly record struct ActiveRunKey(string ScenarioId, string StepId, DateOnly Day);
