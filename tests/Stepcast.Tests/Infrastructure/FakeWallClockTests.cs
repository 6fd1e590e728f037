using Orleans.TestingHost;
using Stepcast.Grains;
using Stepcast.Grains.Delivery;
using Stepcast.Tests.Engine;

namespace Stepcast.Tests.Infrastructure;

public sealed class FakeWallClockTests
{
    private static readonly DateTimeOffset Start = new(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_wait_due_under_a_millisecond_after_the_clock_is_moved_ends_instead_of_looping_on_the_moving_thread()
    {
        var clock = new FakeWallClock(Start);
        // As Orleans waits for a due time: Task.Delay rounds the last 0.86 ms down to no wait at all.
        var due = Start + TimeSpan.FromSeconds(5) + TimeSpan.FromTicks(8_590);
        var waited = WaitUntilAsync(clock, due);

        var move = Task.Run(() => clock.SetUtcNow(Start + TimeSpan.FromSeconds(5)));

        Assert.Same(move, await Task.WhenAny(move, Task.Delay(TimeSpan.FromSeconds(20))));
        await waited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Start + TimeSpan.FromSeconds(5), clock.GetUtcNow());
    }

    [Fact]
    public async Task Timers_fire_when_the_clock_reaches_them_and_not_before()
    {
        var clock = new FakeWallClock(Start);
        var fired = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var timer = clock.CreateTimer(_ => fired.TrySetResult(clock.GetUtcNow()), null, TimeSpan.FromMinutes(1), Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(fired.Task.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(Start + TimeSpan.FromMinutes(1), await fired.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_silo_on_the_clock_runs_a_handful_of_timers_per_hour_moved_not_one_per_100_ms()
    {
        var clock = new FakeWallClock(Start);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.AddMemoryGrainStorage(StorageNames.Friends);
            silo.UseInMemoryReminderService();
            silo.AddFakeTimeEngine(clock, new SandboxDeliveryRecorder(clock));
        });
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var before = clock.CallbacksRun;
        clock.Advance(TimeSpan.FromHours(2));

        // Orleans' thread-pool stall detector ticks every 100 ms: 72,000 callbacks here when it was on this clock.
        Assert.InRange(clock.CallbacksRun - before, 0, 1_000);
    }

    private static async Task WaitUntilAsync(TimeProvider clock, DateTimeOffset due)
    {
        while (due - clock.GetUtcNow() is { Ticks: > 0 } left)
        {
            // Continuing on the thread that fired the timer, as Orleans' own timers do.
            await Task.Delay(left, clock).ConfigureAwait(false);
        }
    }
}
