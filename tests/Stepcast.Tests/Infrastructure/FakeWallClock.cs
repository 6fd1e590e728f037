using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Stepcast.Tests.Infrastructure;

/// <summary>
/// A fake wall clock (dates, timers and reminders move only when a test moves them) whose timestamps are real.
/// Orleans measures grain-call timeouts with <see cref="TimeProvider.GetTimestamp"/> of the silo's time provider:
/// on a plain <see cref="FakeTimeProvider"/>, a test that jumps the clock a day makes every call then in flight
/// (a friend reserving budget from its quota grain, say) time out at once, and the engine takes the retry path
/// the test never meant to exercise. Elapsed-time measurement stays on the machine's clock here.
/// <para>
/// It also keeps a timer from hanging the test. Orleans waits for a due time in a loop of <c>Task.Delay(due - now)</c>,
/// and <c>Task.Delay</c> rounds a remainder under a millisecond down to no wait at all. When a test moves the clock to
/// 0.86 ms before a due time (Orleans' own timers add random jitter), the woken timer's callback loops, on the thread
/// that moved the clock, until the clock moves again: for good, when that thread is the test's. A callback that has
/// run for a second is taken to be such a loop, and until it returns the clock reads a millisecond ahead.
/// </para>
/// </summary>
public sealed class FakeWallClock : FakeTimeProvider
{
    private static readonly TimeSpan StuckAfter = TimeSpan.FromSeconds(1);

    /// <summary>Start timestamps of the timer callbacks running now, each under a token of its own.</summary>
    private readonly ConcurrentDictionary<object, long> _running = new();
    private readonly Timer _watchdog;
    private long _skewTicks;

    public FakeWallClock(DateTimeOffset start) : base(start)
    {
        _watchdog = new Timer(_ => Watch(), null, StuckAfter / 4, StuckAfter / 4);
    }

    public override long GetTimestamp() => Stopwatch.GetTimestamp();

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Volatile.Read(ref _skewTicks));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        base.CreateTimer(target => Run(callback, target), state, dueTime, period);

    private void Run(TimerCallback callback, object? state)
    {
        var token = new object();
        _running[token] = Stopwatch.GetTimestamp();
        try
        {
            callback(state);
        }
        finally
        {
            _running.TryRemove(token, out _);
            if (Volatile.Read(ref _skewTicks) != 0)
            {
                Watch();
            }
        }
    }

    private void Watch()
    {
        var stuck = _running.Values.Any(started => Stopwatch.GetElapsedTime(started) > StuckAfter);
        Volatile.Write(ref _skewTicks, stuck ? TimeSpan.TicksPerMillisecond : 0);
    }
}
