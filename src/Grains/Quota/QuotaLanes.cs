using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Stepcast.Grains.Quota;

/// <summary>
/// A silo's calls to its channels' quota grains, one lane per channel with one <see cref="IPlanQuotaGrain.Settle"/>
/// in flight at a time: what friends ask while it runs (reservations, commits, releases) goes in the next one. With
/// no call in flight a reservation leaves at once; in a burst of thousands of sends a second, a call carries dozens.
/// A call per send cost each welcome two grain messages (about a tenth of the embedded host's time per follow).
/// Commits and releases are one-way as before: one lost with its call leaves a reservation that times out into "used".
/// </summary>
public sealed class QuotaLanes(IGrainFactory grains, ILogger<QuotaLanes> logger)
{
    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    /// <summary>Answers as <see cref="IPlanQuotaGrain.Reserve"/> would.</summary>
    public Task<QuotaDecision> Reserve(string channelId, QuotaRequest request) => LaneOf(channelId).Reserve(request);

    public void Commit(string channelId, Guid retryKey) => LaneOf(channelId).Settle(retryKey, commit: true);

    public void Release(string channelId, Guid retryKey) => LaneOf(channelId).Settle(retryKey, commit: false);

    private Lane LaneOf(string channelId) =>
        _lanes.GetOrAdd(channelId, static (id, lanes) => new Lane(lanes._grains.GetGrainInSilo<IPlanQuotaGrain>(id), lanes._logger), this);

    private readonly IGrainFactory _grains = grains;
    private readonly ILogger _logger = logger;

    private sealed class Lane(IPlanQuotaGrain quota, ILogger logger)
    {
        private readonly Lock _lock = new();
        private List<Guid> _commits = [];
        private List<Guid> _releases = [];
        private List<(QuotaRequest Request, TaskCompletionSource<QuotaDecision> Answer)> _reservations = [];
        private bool _calling;

        public Task<QuotaDecision> Reserve(QuotaRequest request)
        {
            var answer = new TaskCompletionSource<QuotaDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
            bool start;
            lock (_lock)
            {
                _reservations.Add((request, answer));
                start = StartIfIdle();
            }

            if (start)
            {
                Call();
            }

            return answer.Task;
        }

        public void Settle(Guid retryKey, bool commit)
        {
            bool start;
            lock (_lock)
            {
                (commit ? _commits : _releases).Add(retryKey);
                start = StartIfIdle();
            }

            if (start)
            {
                Call();
            }
        }

        private bool StartIfIdle()
        {
            if (_calling)
            {
                return false;
            }

            _calling = true;
            return true;
        }

        // On the thread pool, not on the grain that happened to ask first: the calls serve every friend of the silo.
        private void Call() => _ = Task.Run(CallUntilEmptyAsync);

        private async Task CallUntilEmptyAsync()
        {
            while (true)
            {
                QuotaSettlement settlement;
                List<(QuotaRequest Request, TaskCompletionSource<QuotaDecision> Answer)> waiting;
                lock (_lock)
                {
                    if (_commits.Count == 0 && _releases.Count == 0 && _reservations.Count == 0)
                    {
                        _calling = false;
                        return;
                    }

                    settlement = new QuotaSettlement
                    {
                        Commits = [.. _commits],
                        Releases = [.. _releases],
                        Reservations = [.. _reservations.Select(reservation => reservation.Request)],
                    };
                    waiting = _reservations;
                    (_commits, _releases, _reservations) = ([], [], []);
                }

                try
                {
                    var decisions = await quota.Settle(settlement);
                    for (var i = 0; i < waiting.Count; i++)
                    {
                        waiting[i].Answer.TrySetResult(decisions[i]);
                    }
                }
                catch (Exception exception)
                {
                    // Each friend asking treats this as its own failed reservation (and retries later).
                    foreach (var (_, answer) in waiting)
                    {
                        answer.TrySetException(exception);
                    }

                    if (waiting.Count == 0)
                    {
                        logger.LogWarning(exception, "Quota of {ChannelId}: {Commits} commits and {Releases} releases were lost; their reservations time out into used",
                            quota.GetPrimaryKeyString(), settlement.Commits.Length, settlement.Releases.Length);
                    }
                }
            }
        }
    }
}
