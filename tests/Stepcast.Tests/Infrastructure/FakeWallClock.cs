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

    /// <summary>When the timer callback running now started (a <see cref="Stopwatch"/> timestamp), 0 when none is.</summary>
    private long _callbackStartedAt;
    private readonly Timer _watchdog;
    private long _skewTicks;
    private long _callbacksRun;

    public FakeWallClock(DateTimeOffset start) : base(start)
    {
        _watchdog = new Timer(_ => Watch(), null, StuckAfter / 4, StuckAfter / 4);
    }

    /// <summary>How many timer callbacks moving this clock has run.</summary>
    public long CallbacksRun => Interlocked.Read(ref _callbacksRun);

    public override long GetTimestamp() => Stopwatch.GetTimestamp();

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Volatile.Read(ref _skewTicks));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        MeasuresElapsedTime(state)
            ? System.CreateTimer(callback, state, dueTime, period)
            : base.CreateTimer(target => Run(callback, target), state, dueTime, period);

    /// <summary>
    /// Two silo timers measure elapsed time with <see cref="GetTimestamp"/>, so they belong on the machine's clock with
    /// the timestamps: Orleans' thread-pool stall detector (every 100 ms) and the runtime client's sweep of calls past
    /// their response timeout (every second). On the fake clock they fired 79,000 times per silo for every two hours a
    /// test moved it, on the test's thread: 144 million callbacks in the sample-scenario tests, a core kept busy.
    /// </summary>
    private static bool MeasuresElapsedTime(object? state) => state?.GetType().FullName switch
    {
        "Orleans.Runtime.MembershipService.ThreadPoolStallDetector" => true,
        // A PeriodicTimer's state names no owner; the stack does (rare: a silo makes one as it starts).
        "System.Threading.PeriodicTimer+State" => new StackTrace().GetFrames().Any(
            frame => frame.GetMethod()?.DeclaringType?.FullName == "Orleans.Runtime.InsideRuntimeClient"),
        _ => false,
    };

    private void Run(TimerCallback callback, object? state)
    {
        // One callback at a time: the provider runs them under a gate, on whichever thread moved the clock.
        Interlocked.Increment(ref _callbacksRun);
        Volatile.Write(ref _callbackStartedAt, Stopwatch.GetTimestamp());
        try
        {
            callback(state);
        }
        finally
        {
            Volatile.Write(ref _callbackStartedAt, 0);
            Volatile.Write(ref _skewTicks, 0);
        }
    }

    private void Watch()
    {
        var started = Volatile.Read(ref _callbackStartedAt);
        var stuck = started != 0 && Stopwatch.GetElapsedTime(started) > StuckAfter;
        Volatile.Write(ref _skewTicks, stuck ? TimeSpan.TicksPerMillisecond : 0);
    }
}
