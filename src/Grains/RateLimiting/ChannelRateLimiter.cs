using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// A silo's share of every channel's LINE rate limits. Permits come from the channel's <see cref="IRateLimitGrain"/>
/// in leases sized to recent demand, so a request usually costs a lock and a clock read here, not a grain call.
/// Leased permits that go unused lapse with their period; nothing is handed back, so the cluster-wide sum stays
/// within the limit whatever a silo does.
/// </summary>
public sealed class ChannelRateLimiter(IGrainFactory grains, IOptions<RateLimitOptions> options, TimeProvider timeProvider)
{
    private readonly IGrainFactory _grains = grains;
    private readonly TimeProvider _timeProvider = timeProvider;
    private readonly RateLimitOptions _options = options.Value;
    private readonly ConcurrentDictionary<(string ChannelId, string Api), PermitPool> _pools = new();

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

        var pool = _pools.GetOrAdd((channelId, api), static (key, self) => new PermitPool(self, RateLimitKey.Format(key.ChannelId, key.Api)), this);
        return pool.AcquireAsync(maxWait, cancellationToken);
    }

    private sealed class PermitPool(ChannelRateLimiter owner, string key)
    {
        private readonly Lock _gate = new();
        private int _generation;
        private int _remaining;
        private DateTimeOffset _start;
        private DateTimeOffset _usableUntil;
        private DateTimeOffset _askAgainAt;
        private Task? _leasing;
        private int _demand;

        private DateTimeOffset Now => owner._timeProvider.GetUtcNow();

        public ValueTask<bool> AcquireAsync(TimeSpan maxWait, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _demand++;
                var now = Now;
                if (_remaining > 0 && now >= _start && now < _usableUntil)
                {
                    _remaining--;
                    return ValueTask.FromResult(true);
                }
            }

            return new ValueTask<bool>(AcquireSlowAsync(maxWait, cancellationToken));
        }

        private async Task<bool> AcquireSlowAsync(TimeSpan maxWait, CancellationToken cancellationToken)
        {
            var deadline = Now + maxWait;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Task? leasing = null;
                TaskCompletionSource? newLease = null;
                var wanted = 0;
                var reservedFrom = -1;
                var reservedUntil = default(DateTimeOffset);
                var waitUntil = default(DateTimeOffset);
                lock (_gate)
                {
                    var now = Now;
                    if (_remaining > 0 && now < _usableUntil)
                    {
                        if (now >= _start)
                        {
                            _remaining--;
                            return true;
                        }

                        if (_start > deadline)
                        {
                            return false;
                        }

                        // Reserve now, start when the slot opens: later callers queue behind this one.
                        _remaining--;
                        reservedFrom = _generation;
                        reservedUntil = _usableUntil;
                        waitUntil = _start;
                    }
                    else if (_askAgainAt > now)
                    {
                        if (_askAgainAt > deadline)
                        {
                            return false;
                        }

                        waitUntil = _askAgainAt;
                    }
                    else
                    {
                        if (_leasing is null)
                        {
                            newLease = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                            _leasing = newLease.Task;
                            wanted = Math.Clamp(_demand, 1, owner._options.MaxLeaseSize);
                            _demand = 0;
                        }

                        leasing = _leasing;
                    }
                }

                if (leasing is not null)
                {
                    if (newLease is not null)
                    {
                        _ = LeaseAsync(newLease, wanted);
                    }

                    await leasing.WaitAsync(cancellationToken);
                    continue;
                }

                // Timers may fire a millisecond or two early against the wall clock, and a permit used before its
                // slot opens counts in the previous slot (or second): wait until the clock has really reached it.
                TimeSpan delay;
                while ((delay = waitUntil - Now) > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(delay + TimeSpan.FromMilliseconds(1), owner._timeProvider, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        GiveBack(reservedFrom);
                        throw;
                    }
                }

                if (reservedFrom >= 0 && Now < reservedUntil)
                {
                    return true;
                }

                // Either the pool was waiting to ask again, or the timer woke so late that the reserved slot closed.
            }
        }

        private async Task LeaseAsync(TaskCompletionSource done, int wanted)
        {
            try
            {
                var asked = Now;
                var lease = await owner._grains.GetGrain<IRateLimitGrain>(key).Lease(wanted);
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

                    _leasing = null;
                }

                done.SetResult();
            }
            catch (Exception exception)
            {
                lock (_gate)
                {
                    _leasing = null;
                }

                done.SetException(exception);
            }
        }

        private void GiveBack(int generation)
        {
            lock (_gate)
            {
                if (generation >= 0 && generation == _generation)
                {
                    _remaining++;
                }
            }
        }
    }
}
