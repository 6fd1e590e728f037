using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// A silo's share of every channel's LINE rate limits. Permits come from the channel's <see cref="IRateLimitGrain"/>
/// in leases sized to recent demand, so a request usually costs a lock and a clock read here, not a grain call.
/// Leased permits that go unused lapse with their period; nothing is handed back, so the cluster-wide sum stays
/// within the limit whatever a silo does.
/// </summary>
public sealed class ChannelRateLimiter
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _timeProvider;
    private readonly RateLimitOptions _options;
    private readonly StepcastMetrics? _metrics;
    private readonly ConcurrentDictionary<(string ChannelId, string Api), PermitPool> _pools = new();

    public ChannelRateLimiter(IGrainFactory grains, IOptions<RateLimitOptions> options, TimeProvider timeProvider, StepcastMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        (_grains, _timeProvider, _options, _metrics) = (grains, timeProvider, options.Value, metrics);
        metrics?.ObservePermitLines(WaitingSends);
    }

    public bool IsEnabled => _options.Enabled;

    /// <summary>
    /// Waits for a permit to start one request to <paramref name="api"/> for the channel. False when none comes within
    /// <paramref name="maxWait"/> (the caller reschedules rather than holding a friend grain).
    /// </summary>
    public ValueTask<bool> AcquireAsync(string channelId, string api, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return ValueTask.FromResult(true);
        }

        var pool = _pools.GetOrAdd((channelId, api), static (key, self) => new PermitPool(self, key.ChannelId, key.Api), this);
        return pool.AcquireAsync(maxWait, cancellationToken);
    }

    /// <summary>The sends waiting here for a permit, per channel and API (the gauge <c>stepcast.rate_limit.waiting</c>).</summary>
    public IReadOnlyList<PermitLine> WaitingSends() =>
        [.. _pools.Select(pool => new PermitLine(pool.Key.ChannelId, pool.Key.Api, pool.Value.Waiting))];

    /// <summary>
    /// One channel's permits for one API on this silo, and the callers waiting for them, first come first served.
    /// A single pump leases for the queue and hands each lease's permits to its head when the slot opens, so a burst
    /// of thousands of waiting sends costs a wake-up per permit: when every waiter slept and woke on its own, each
    /// woke at every slot of its wait to find most permits gone (a 20,000-friend burst at 2,000 a second allocated
    /// ~90 kB per recipient), and the permits went to whichever woke first rather than to whoever had waited longest.
    /// </summary>
    private sealed class PermitPool(ChannelRateLimiter owner, string channelId, string api)
    {
        private readonly string _key = RateLimitKey.Format(channelId, api);
        private readonly Lock _gate = new();
        private readonly Queue<Waiter> _queue = new();
        private int _waiting;
        private bool _pumping;
        private int _generation;
        private int _remaining;
        private DateTimeOffset _start;
        private DateTimeOffset _usableUntil;
        private DateTimeOffset _askAgainAt;
        private int _demand;

        private DateTimeOffset Now => owner._timeProvider.GetUtcNow();

        public int Waiting => Volatile.Read(ref _waiting);

        public ValueTask<bool> AcquireAsync(TimeSpan maxWait, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _demand++;
                var now = Now;
                // Nobody may overtake a caller already waiting.
                if (_waiting == 0 && _remaining > 0 && now >= _start && now < _usableUntil)
                {
                    _remaining--;
                    return ValueTask.FromResult(true);
                }
            }

            return new ValueTask<bool>(WaitForPermitAsync(maxWait, cancellationToken));
        }

        private async Task<bool> WaitForPermitAsync(TimeSpan maxWait, CancellationToken cancellationToken)
        {
            var started = owner._timeProvider.GetTimestamp();
            var granted = await WaitInLineAsync(maxWait, cancellationToken);
            owner._metrics?.PermitWaited(api, owner._timeProvider.GetElapsedTime(started), granted);
            return granted;
        }

        private async Task<bool> WaitInLineAsync(TimeSpan maxWait, CancellationToken cancellationToken)
        {
            var deadline = Now + maxWait;
            while (true)
            {
                var waiter = new Waiter();
                bool startPump;
                lock (_gate)
                {
                    _queue.Enqueue(waiter);
                    _waiting++;
                    startPump = !_pumping;
                    _pumping = true;
                }

                if (startPump)
                {
                    // Off the caller's grain: the pump serves everyone in line, long after the first caller's friend
                    // got its permit and perhaps left memory.
                    _ = Task.Run(PumpAsync);
                }

                Grant grant;
                try
                {
                    var left = deadline - Now;
                    grant = await waiter.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, owner._timeProvider, cancellationToken);
                }
                catch (Exception exception) when (exception is TimeoutException or OperationCanceledException && !waiter.Task.IsFaulted)
                {
                    if (Abandon(waiter))
                    {
                        if (exception is TimeoutException)
                        {
                            return false;
                        }

                        throw;
                    }

                    // Granted just as the wait ended: a cancelled caller hands the permit back, a timed-out one uses it.
                    grant = waiter.Task.Result;
                    if (exception is OperationCanceledException)
                    {
                        GiveBack(grant);
                        throw;
                    }
                }

                if (Now < grant.UsableUntil)
                {
                    return true;
                }

                // Resumed so late that the permit's period had ended (a starved thread pool): in line again.
            }
        }

        /// <summary>Takes a waiter out of line unless the pump granted it first; true when it was still waiting.</summary>
        private bool Abandon(Waiter waiter)
        {
            lock (_gate)
            {
                if (!waiter.TrySetCanceled())
                {
                    return false;
                }

                _waiting--;
                return true;
            }
        }

        /// <summary>Leases for the queue and serves it in order while anyone waits; one runs per pool at a time.</summary>
        private async Task PumpAsync()
        {
            try
            {
                while (true)
                {
                    var wanted = 0;
                    var sleep = TimeSpan.Zero;
                    lock (_gate)
                    {
                        var now = Now;
                        if (_remaining > 0 && now >= _start && now < _usableUntil)
                        {
                            var grant = new Grant(_generation, _usableUntil);
                            while (_remaining > 0 && _queue.TryDequeue(out var waiter))
                            {
                                // A waiter that gave up is still in the queue, already completed: skipped.
                                if (waiter.TrySetResult(grant))
                                {
                                    _remaining--;
                                    _waiting--;
                                }
                            }
                        }

                        while (_queue.TryPeek(out var head) && head.Task.IsCompleted)
                        {
                            _queue.Dequeue();
                        }

                        if (_queue.Count == 0)
                        {
                            _pumping = false;
                            return;
                        }

                        if (_remaining > 0 && now < _usableUntil)
                        {
                            sleep = _start - now;
                        }
                        else if (_askAgainAt > now)
                        {
                            sleep = _askAgainAt - now;
                        }
                        else
                        {
                            // Sized to the queue, and to the calls since the last lease that found permits at once.
                            wanted = Math.Clamp(Math.Max(_demand, _waiting), 1, owner._options.MaxLeaseSize);
                            _demand = 0;
                        }
                    }

                    if (wanted > 0)
                    {
                        await LeaseAsync(wanted);
                    }
                    else if (sleep > TimeSpan.Zero)
                    {
                        // Timers may fire a millisecond or two early against the wall clock, and a permit used before
                        // its slot opens counts in the previous slot (or second): the loop checks the clock again.
                        await Task.Delay(sleep + TimeSpan.FromMilliseconds(1), owner._timeProvider);
                    }
                }
            }
            catch (Exception exception)
            {
                // The rate-limit grain could not be reached: everyone in line hears it (their sends retry later), and
                // the next caller starts a pump anew.
                lock (_gate)
                {
                    while (_queue.TryDequeue(out var waiter))
                    {
                        if (waiter.TrySetException(exception))
                        {
                            _waiting--;
                        }
                    }

                    _pumping = false;
                }
            }
        }

        private async Task LeaseAsync(int wanted)
        {
            var asked = Now;
            var lease = await owner._grains.GetGrain<IRateLimitGrain>(_key).Lease(wanted);
            lock (_gate)
            {
                // The grain measured the window from a moment between asking and answering, unknown here: start it
                // from the answer and end it from the question, so a slow call narrows the window rather than
                // moving it into the next slot.
                var now = Now;
                if (lease.Granted > 0)
                {
                    _generation++;
                    _remaining = lease.Granted;
                    _start = now + lease.StartsIn;
                    _usableUntil = asked + lease.EndsIn - owner._options.SendGuard;
                }
                else
                {
                    _askAgainAt = now + lease.StartsIn;
                }
            }
        }

        private void GiveBack(Grant grant)
        {
            lock (_gate)
            {
                if (grant.Generation == _generation)
                {
                    _remaining++;
                }
            }
        }

        /// <summary>A permit handed to a waiter: the lease it came from, and until when it may be used.</summary>
        private readonly record struct Grant(int Generation, DateTimeOffset UsableUntil);

        private sealed class Waiter() : TaskCompletionSource<Grant>(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
