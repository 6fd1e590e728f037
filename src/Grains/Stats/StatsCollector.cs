using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Stepcast.Grains.Stats;

/// <summary>
/// A silo-local buffer of scenario counters: friend grains count here in memory (no grain call per send), and every
/// <see cref="StatsOptions.FlushInterval"/> the sums go to one <see cref="IScenarioStatsGrain"/> per scenario. A delta
/// that fails is sent again, unchanged and with the same sequence number, before anything newer for its scenario, so the
/// stats grain applies it once even when only its answer was lost. Deltas not yet flushed when a silo crashes are lost:
/// the figures may fall short by about one interval's worth of that silo's activity.
/// </summary>
public sealed partial class StatsCollector(IGrainFactory grains, IOptions<StatsOptions> options, ILogger<StatsCollector> logger) : BackgroundService
{
    private readonly Lock _lock = new();
    private readonly string _source = Guid.NewGuid().ToString("N");
    private readonly SemaphoreSlim _flushing = new(1, 1);
    /// <summary>Deltas sent and not yet acknowledged; only touched while holding <see cref="_flushing"/>.</summary>
    private readonly Dictionary<(string ChannelId, string ScenarioId), ScenarioStatsDelta> _unconfirmed = [];
    private Dictionary<(string ChannelId, string ScenarioId), PendingDelta> _pending = [];
    private long _sequence;

    public void Count(string channelId, string scenarioId, string stepId, StepCounter counter, long by = 1)
    {
        lock (_lock)
        {
            PendingFor(channelId, scenarioId).CountsOf(stepId)[(int)counter] += by;
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
        await _flushing.WaitAsync();
        try
        {
            lock (_lock)
            {
                foreach (var (key, pending) in _pending.ToList())
                {
                    // A scenario whose last delta is unacknowledged keeps collecting until that one is through.
                    if (!_unconfirmed.ContainsKey(key))
                    {
                        _unconfirmed[key] = pending.ToDelta() with { Source = _source, Sequence = ++_sequence };
                        _pending.Remove(key);
                    }
                }
            }

            var sent = await Task.WhenAll(_unconfirmed.ToList().Select(async entry =>
            {
                try
                {
                    await grains.GetGrain<IScenarioStatsGrain>(ScenarioStatsKey.Format(entry.Key.ChannelId, entry.Key.ScenarioId)).Add(entry.Value);
                    return entry.Key;
                }
                catch (Exception exception)
                {
                    LogFlushFailed(exception, entry.Key.ChannelId, entry.Key.ScenarioId);
                    return ((string, string)?)null;
                }
            }));
            foreach (var key in sent.OfType<(string, string)>())
            {
                _unconfirmed.Remove(key);
            }
        }
        finally
        {
            _flushing.Release();
        }
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

    [LoggerMessage(LogLevel.Warning, "Could not flush the stats of {ChannelId}/{ScenarioId}; sent again at the next flush")]
    private partial void LogFlushFailed(Exception exception, string channelId, string scenarioId);

    [LoggerMessage(LogLevel.Warning, "The last stats flush before the silo stopped failed; its counters are lost")]
    private partial void LogFinalFlushFailed(Exception exception);

    private sealed class PendingDelta
    {
        private static readonly int CounterCount = Enum.GetValues<StepCounter>().Length;

        public long Entered;
        // Counted in place, one slot per StepCounter: a new StepStats per count was ~0.3 kB per recipient of a burst.
        private readonly Dictionary<string, long[]> _steps = new(StringComparer.Ordinal);
        public readonly Dictionary<(string StepId, DateOnly Day), long> ActiveRuns = [];

        public long[] CountsOf(string stepId)
        {
            ref var counts = ref CollectionsMarshal.GetValueRefOrAddDefault(_steps, stepId, out _);
            return counts ??= new long[CounterCount];
        }

        public ScenarioStatsDelta ToDelta() => new()
        {
            Entered = Entered,
            Steps = _steps.ToImmutableDictionary(step => step.Key, step => StepStats.FromCounts(step.Value), StringComparer.Ordinal),
            ActiveRuns = [.. ActiveRuns.Where(a => a.Value != 0).Select(a => new ActiveRunsChange(a.Key.StepId, a.Key.Day, a.Value))],
        };
    }
}

/// <summary>Where a run stands for the active-runs gauge: the step it will carry out next and the UTC day it is due.</summary>
public readonly record struct ActiveRunKey(string ScenarioId, string StepId, DateOnly Day);
