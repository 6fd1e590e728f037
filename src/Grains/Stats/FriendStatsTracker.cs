using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Stats;

/// <summary>
/// One friend activation's view of the stats: turns what its runs do into counters in the silo's
/// <see cref="StatsCollector"/>, and keeps the active-runs gauge in step with what the friend has persisted.
/// </summary>
public sealed class FriendStatsTracker : IRunObserver
{
    private readonly StatsCollector _collector;
    private readonly FriendKey _key;
    private readonly FriendState _friend;
    private readonly StatsOptions _options;
    /// <summary>
    /// The runs as last persisted (and counted); a fresh activation starts from what storage holds. A list, not a
    /// dictionary: a friend has a few runs, and this is rebuilt on every write of every friend.
    /// </summary>
    private List<KeyValuePair<ActiveRunKey, int>> _counted = [];
    /// <summary>The other of two lists that take turns as <see cref="_counted"/>: no new list per write.</summary>
    private List<KeyValuePair<ActiveRunKey, int>> _current = [];

    public FriendStatsTracker(StatsCollector collector, FriendKey key, FriendState friend, StatsOptions options)
    {
        _collector = collector;
        _key = key;
        _friend = friend;
        _options = options;
        FillActiveRuns(_counted);
    }

    void IRunObserver.Reached(Enrollment run, ScenarioStep step) =>
        _collector.Count(_key.ChannelId, run.ScenarioId, step.Id, StepCounter.Entered);

    void IRunObserver.Recorded(HistoryEntry entry)
    {
        if (entry.ScenarioId is not { } scenarioId)
        {
            return;
        }

        switch (entry.Kind)
        {
            case HistoryKind.Entered:
                _collector.CountEntered(_key.ChannelId, scenarioId);
                break;
            case HistoryKind.Sent when entry.StepId is { } stepId:
                _collector.Count(_key.ChannelId, scenarioId, stepId, StepCounter.Sent);
                break;
            case HistoryKind.Failed when entry.StepId is { } stepId:
                _collector.Count(_key.ChannelId, scenarioId, stepId, StepCounter.Failed);
                break;
            case HistoryKind.Skipped when entry.StepId is { } stepId:
                _collector.Count(_key.ChannelId, scenarioId, stepId, StepStats.SkipCounterFor(entry.Detail));
                break;
        }
    }

    /// <summary>The friend's state was written: the gauge moves by the difference since the last write.</summary>
    public void Persisted()
    {
        var now = _current;
        FillActiveRuns(now);
        List<KeyValuePair<ActiveRunKey, int>>? changes = null;
        foreach (var (key, runs) in now)
        {
            var change = runs - RunsAt(_counted, key);
            if (change != 0)
            {
                (changes ??= []).Add(new(key, change));
            }
        }

        foreach (var (key, runs) in _counted)
        {
            if (RunsAt(now, key) == 0)
            {
                (changes ??= []).Add(new(key, -runs));
            }
        }

        if (changes is not null)
        {
            _collector.MoveActiveRuns(_key.ChannelId, changes);
        }

        (_counted, _current) = (now, _counted);
    }

    /// <summary>The friend blocked the account: the step last sent to it counts the block when it is recent.</summary>
    public void Blocked(DateTimeOffset at)
    {
        for (var i = _friend.History.Count - 1; i >= 0; i--)
        {
            var entry = _friend.History[i];
            if (entry is { Kind: HistoryKind.Sent, ScenarioId: { } scenarioId, StepId: { } stepId })
            {
                if (at - entry.At <= _options.BlockedWithin)
                {
                    _collector.Count(_key.ChannelId, scenarioId, stepId, StepCounter.BlockedWithin24h);
                }

                return;
            }
        }
    }

    /// <summary>
    /// The friend had an event: each scenario whose conversion event it is, and which sent the friend a step within
    /// the conversion window, counts one conversion on the last step it sent.
    /// </summary>
    public async Task EventRecordedAsync(string name, DateTimeOffset at, Func<string, int, ValueTask<ScenarioDefinition?>> definitionOf)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = _friend.History.Count - 1; i >= 0; i--)
        {
            var entry = _friend.History[i];
            if (at - entry.At > _options.ConversionWindow)
            {
                break;
            }

            if (entry is { Kind: HistoryKind.Sent, ScenarioId: { } scenarioId, StepId: { } stepId } && seen.Add(scenarioId)
                && (await definitionOf(scenarioId, entry.Version))?.ConversionEvent is { } conversion
                && string.Equals(conversion, name, StringComparison.Ordinal))
            {
                _collector.Count(_key.ChannelId, scenarioId, stepId, StepCounter.Converted);
            }
        }
    }

    public void Clicked(string scenarioId, string stepId) =>
        _collector.Count(_key.ChannelId, scenarioId, stepId, StepCounter.Clicked);

    /// <summary>Fills the list with the friend's active runs counted per step and due day.</summary>
    private void FillActiveRuns(List<KeyValuePair<ActiveRunKey, int>> runs)
    {
        runs.Clear();
        if (_friend.Status == FriendStatus.Blocked)
        {
            return;
        }

        foreach (var run in _friend.Enrollments)
        {
            if (!run.Suspended && run.StepId is { } stepId)
            {
                var key = new ActiveRunKey(run.ScenarioId, stepId, DateOnly.FromDateTime(run.DueAt.UtcDateTime));
                var at = IndexOf(runs, key);
                if (at >= 0)
                {
                    runs[at] = new(key, runs[at].Value + 1);
                }
                else
                {
                    runs.Add(new(key, 1));
                }
            }
        }
    }

    private static int RunsAt(List<KeyValuePair<ActiveRunKey, int>> runs, ActiveRunKey key) =>
        IndexOf(runs, key) is var at and >= 0 ? runs[at].Value : 0;

    private static int IndexOf(List<KeyValuePair<ActiveRunKey, int>> runs, ActiveRunKey key)
    {
        for (var i = 0; i < runs.Count; i++)
        {
            if (runs[i].Key == key)
            {
                return i;
            }
        }

        return -1;
    }
}
