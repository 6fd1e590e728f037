using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Stepcast.Tests.Infrastructure;

/// <summary>
/// A fake wall clock (dates, timers and reminders move only when a test moves them) whose timestamps are real.
/// Orleans measures grain-call timeouts with <see cref="TimeProvider.GetTimestamp"/> of the silo's time provider:
/// on a plain <see cref="FakeTimeProvider"/>, a test that jumps the clock a day makes every call then in flight
/// (a friend reserving budget from its quota grain, say) time out at once, and the engine takes the retry path
/// the test never meant to exercise. Elapsed-time measurement stays on the machine's clock here.
/// </summary>
public sealed class FakeWallClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    public override long GetTimestamp() => Stopwatch.GetTimestamp();

    public override long TimestampFrequency => Stopwatch.Frequency;
}
