using Microsoft.Extensions.Time.Testing;
using Stepcast.Grains.RateLimiting;

namespace Stepcast.Tests.Delivery;

public sealed class PermitScheduleTests
{
    private static readonly DateTimeOffset Start = new(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);

    private static RateLimitRule PerSecond(int limit) => new() { Limit = limit, Period = TimeSpan.FromSeconds(1), Slots = 10 };

    [Fact]
    public void Permits_usable_in_any_clock_second_never_exceed_the_limit()
    {
        var clock = new FakeTimeProvider(Start);
        var schedule = new PermitSchedule(PerSecond(2_000), lookaheadSlots: 2, clock.GetUtcNow());
        var random = new Random(7);
        var usablePerSecond = new Dictionary<long, int>();
        var granted = 0;

        // Many silos asking for random batch sizes at random moments over ten fake seconds.
        while (clock.GetUtcNow() < Start.AddSeconds(10))
        {
            var now = clock.GetUtcNow();
            var lease = schedule.Lease(random.Next(1, 400), now);
            if (lease.Granted > 0)
            {
                var from = now + lease.StartsIn;
                var until = now + lease.EndsIn;
                // A lease never reaches into a second other than the one its window starts in.
                Assert.Equal(from.ToUnixTimeSeconds(), (until - TimeSpan.FromTicks(1)).ToUnixTimeSeconds());
                // Nothing may start in the quiet last slot of a second.
                Assert.True(from.UtcTicks % TimeSpan.TicksPerSecond < 9 * TimeSpan.TicksPerSecond / 10, $"lease from {from:O}");
                Assert.Equal(9 * TimeSpan.TicksPerSecond / 10, until.UtcTicks % TimeSpan.TicksPerSecond);
                usablePerSecond[from.ToUnixTimeSeconds()] = usablePerSecond.GetValueOrDefault(from.ToUnixTimeSeconds()) + lease.Granted;
                granted += lease.Granted;
            }

            clock.Advance(TimeSpan.FromMilliseconds(random.Next(0, 7)));
        }

        Assert.All(usablePerSecond.Values, count => Assert.InRange(count, 0, 2_000));
        // Demand always exceeded the limit, so the full seconds (after the fresh schedule's hold) were used up.
        Assert.Equal(2_000, usablePerSecond[Start.AddSeconds(5).ToUnixTimeSeconds()]);
        Assert.True(granted > 8 * 2_000, $"only {granted} permits in ten seconds");
    }

    [Fact]
    public void Slot_budgets_add_up_to_the_limit_when_it_does_not_divide_evenly()
    {
        var schedule = new PermitSchedule(new RateLimitRule { Limit = 55, Period = TimeSpan.FromSeconds(1), Slots = 10 }, 2, Start);
        var first = schedule.SlotOf(Start);
        Assert.Equal(55, Enumerable.Range(0, 10).Sum(i => schedule.BudgetOf(first + i)));
        Assert.All(Enumerable.Range(0, 9), i => Assert.InRange(schedule.BudgetOf(first + i), 6, 7));
        Assert.Equal(0, schedule.BudgetOf(first + 9));
    }

    [Fact]
    public void A_fresh_schedule_holds_back_past_what_an_earlier_activation_may_have_leased()
    {
        var clock = new FakeTimeProvider(Start.AddMilliseconds(250));
        var schedule = new PermitSchedule(PerSecond(50), lookaheadSlots: 2, clock.GetUtcNow());

        var lease = schedule.Lease(5, clock.GetUtcNow());

        // Slots 200–300 ms (current), 300–400 and 400–500 ms (lookahead) may be out already: the first is 500 ms.
        Assert.Equal(0, lease.Granted);
        Assert.Equal(TimeSpan.FromMilliseconds(250), lease.StartsIn);
        clock.Advance(lease.StartsIn);
        var next = schedule.Lease(100, clock.GetUtcNow());
        Assert.Equal(schedule.BudgetOf(schedule.SlotOf(clock.GetUtcNow())), next.Granted);
        Assert.Equal(TimeSpan.Zero, next.StartsIn);
        // Usable to the start of the quiet last slot (900 ms), not just to its own slot's end.
        Assert.Equal(TimeSpan.FromMilliseconds(400), next.EndsIn);
    }

    [Fact]
    public void A_spent_slot_leases_from_the_next_one_and_then_says_when_to_ask_again()
    {
        var clock = new FakeTimeProvider(Start);
        var schedule = new PermitSchedule(PerSecond(50), lookaheadSlots: 1, Start.AddSeconds(-10));

        var slot = schedule.SlotOf(Start);
        Assert.Equal(schedule.BudgetOf(slot), schedule.Lease(10, clock.GetUtcNow()).Granted);
        var ahead = schedule.Lease(10, clock.GetUtcNow());
        Assert.Equal(schedule.BudgetOf(slot + 1), ahead.Granted);
        Assert.Equal(TimeSpan.FromMilliseconds(100), ahead.StartsIn);
        var none = schedule.Lease(10, clock.GetUtcNow());
        Assert.Equal(0, none.Granted);
        Assert.Equal(TimeSpan.FromMilliseconds(200), none.StartsIn);
    }
}
