using Orleans.Runtime;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

[Collection(EngineClusterCollection.Name)]
public sealed class LifecycleTests(EngineCluster cluster)
{
    private Task<SignalResult> PurchaseAsync(string channel, string friend) =>
        cluster.Friend(channel, friend).RecordEvent(new FriendEventCommand { At = cluster.Clock.GetUtcNow(), Name = "purchased" });

    private async Task<string> PublishThanksAsync(ReentryPolicy reentry)
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "thanks", new EventTrigger { Name = "purchased" },
            Send("thanks", "Thank you"), WaitDays("later", 7), Send("review", "Please review")) with { Reentry = reentry });
        return channel;
    }

    [Fact]
    public async Task Reentry_never_admits_a_friend_once()
    {
        var channel = await PublishThanksAsync(ReentryPolicy.Never);
        Assert.Equal(["thanks"], (await PurchaseAsync(channel, "Unever")).EnteredScenarios.ToArray());
        await cluster.AdvanceAsync(TimeSpan.FromDays(8), TimeSpan.FromHours(6));
        await cluster.WaitForDeliveriesAsync(channel, "Unever", 2);

        Assert.Empty((await PurchaseAsync(channel, "Unever")).EnteredScenarios);
        await cluster.Friend(channel, "Unever").RunDueSteps();
        Assert.Equal(2, cluster.DeliveriesTo(channel, "Unever").Count);
    }

    [Fact]
    public async Task Reentry_after_completion_waits_for_the_run_to_end()
    {
        var channel = await PublishThanksAsync(ReentryPolicy.AfterCompletion);
        Assert.NotEmpty((await PurchaseAsync(channel, "Uafter")).EnteredScenarios);
        await cluster.WaitForDeliveriesAsync(channel, "Uafter", 1);
        Assert.Empty((await PurchaseAsync(channel, "Uafter")).EnteredScenarios);

        await cluster.AdvanceAsync(TimeSpan.FromDays(8), TimeSpan.FromHours(6));
        await cluster.WaitForDeliveriesAsync(channel, "Uafter", 2);
        Assert.NotEmpty((await PurchaseAsync(channel, "Uafter")).EnteredScenarios);
        var deliveries = await cluster.WaitForDeliveriesAsync(channel, "Uafter", 3);

        Assert.Equal(["thanks", "review", "thanks"], StepIds(deliveries));
    }

    [Fact]
    public async Task Reentry_always_restarts_a_run_in_progress()
    {
        var channel = await PublishThanksAsync(ReentryPolicy.Always);
        await PurchaseAsync(channel, "Ualways");
        await cluster.WaitForDeliveriesAsync(channel, "Ualways", 1);
        await cluster.AdvanceAsync(TimeSpan.FromDays(5), TimeSpan.FromHours(6));
        var restartedAt = cluster.Clock.GetUtcNow();
        Assert.NotEmpty((await PurchaseAsync(channel, "Ualways")).EnteredScenarios);
        await cluster.WaitForDeliveriesAsync(channel, "Ualways", 2, advanceClock: false);
        // The restarted run schedules its review from the second purchase, not the first (which would be 2 days away).
        var restarted = Assert.Single((await cluster.Friend(channel, "Ualways").GetSnapshot()).Enrollments);
        Assert.Equal(restartedAt + TimeSpan.FromDays(7), restarted.DueAt);

        await cluster.AdvanceAsync(TimeSpan.FromDays(3), TimeSpan.FromHours(6));
        Assert.Equal(["thanks", "thanks"], StepIds(cluster.DeliveriesTo(channel, "Ualways")));
        await cluster.AdvanceAsync(TimeSpan.FromDays(5), TimeSpan.FromHours(1));
        var deliveries = await cluster.WaitForDeliveriesAsync(channel, "Ualways", 3);

        Assert.Equal(["thanks", "thanks", "review"], StepIds(deliveries));
        // When it went out depends on how fast a loaded machine follows the fake clock; never before it was due.
        Assert.True(deliveries[2].SentAt >= restartedAt + TimeSpan.FromDays(7), $"review sent at {deliveries[2].SentAt:O}");
    }

    [Fact]
    public async Task Two_scenarios_run_side_by_side_for_one_friend()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "welcome", new FollowTrigger(),
            Send("welcome-1", "Welcome"), WaitDays("w", 2), Send("welcome-2", "Day 2"), WaitDays("w2", 4), Send("welcome-3", "Day 6")));
        await cluster.PublishAsync(Define(channel, "cart", new EventTrigger { Name = "cart_abandoned" },
            WaitDays("w", 1), Send("cart-1", "Your cart"), WaitDays("w2", 2), Send("cart-2", "Still there")));

        var friend = cluster.Friend(channel, "Utwo");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Utwo", 1);
        await cluster.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromHours(12));
        await friend.RecordEvent(new FriendEventCommand { At = cluster.Clock.GetUtcNow(), Name = "cart_abandoned" });
        await cluster.AdvanceAsync(TimeSpan.FromDays(6));
        var deliveries = await cluster.WaitForDeliveriesAsync(channel, "Utwo", 5);

        // day 0 welcome-1, day 2 welcome-2, day 2.5 cart-1, day 4.5 cart-2, day 6 welcome-3
        Assert.Equal(["welcome-1", "welcome-2", "cart-1", "cart-2", "welcome-3"], StepIds(deliveries));
    }

    [Fact]
    public async Task A_reminder_tick_delivered_twice_runs_the_step_once()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "once", new FollowTrigger(),
            WaitDays("wait", 1), Send("after-a-day", "One day later")));
        var friend = cluster.Friend(channel, "Utwice");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });

        // Move the clock without giving the reminder service a chance, then tick by hand twice at once.
        cluster.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        await Task.WhenAll(friend.RunDueSteps(), friend.RunDueSteps(), friend.RunDueSteps());
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1));

        Assert.Equal(["after-a-day"], StepIds(cluster.DeliveriesTo(channel, "Utwice")));
    }

    [Fact]
    public async Task A_late_tick_runs_the_due_step_once_and_keeps_the_schedule_of_later_steps()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "schedule", new FollowTrigger(),
            WaitDays("w1", 1), Send("day-1", "Day 1"), WaitDays("w3", 2), Send("day-3", "Day 3")));
        var followedAt = cluster.Clock.GetUtcNow();
        var friend = cluster.Friend(channel, "Ulate");
        await friend.Follow(new FollowCommand { At = followedAt });

        // An outage: nothing fires for two days, then time jumps in one go.
        cluster.Clock.Advance(TimeSpan.FromDays(2));
        await friend.RunDueSteps();
        Assert.Equal(["day-1"], StepIds(cluster.DeliveriesTo(channel, "Ulate")));
        var pending = Assert.Single((await friend.GetSnapshot()).Enrollments);
        Assert.Equal(followedAt + TimeSpan.FromDays(3), pending.DueAt);

        await cluster.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30));
        Assert.Equal(["day-1", "day-3"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Ulate", 2)));
    }

    [Fact]
    public async Task Waiting_friend_leaves_memory_and_wakes_up_by_reminder()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "sleepy", new FollowTrigger(),
            Send("hello", "Hello"), WaitDays("w", 3), Send("again", "Three days later")));
        var friend = cluster.Friend(channel, "Usleepy");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        // Not settled by a call: the friend must leave memory on its own once its turn ends, which is waited for below.
        await cluster.WaitForDeliveriesAsync(channel, "Usleepy", 1, settle: false);

        Assert.True(await cluster.LeavesMemoryAsync(friend.GetGrainId()), "waiting three days, the friend should have left memory");
        await cluster.AdvanceAsync(TimeSpan.FromDays(3) + TimeSpan.FromMinutes(5));
        // Only the reminder may wake it: a nudge through the grain would activate it by hand.
        Assert.Equal(["hello", "again"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Usleepy", 2)));
    }

    [Fact]
    public async Task A_friend_whose_last_step_the_clock_ran_leaves_memory_soon_after()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "last", new FollowTrigger(), WaitDays("w", 1), Send("last", "The last one")));
        var friend = cluster.Friend(channel, "Ulast");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        var grainId = friend.GetGrainId();
        Assert.True(await cluster.LeavesMemoryAsync(grainId), "waiting a day, the friend should have left memory");

        await cluster.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5));
        await cluster.WaitForDeliveriesAsync(channel, "Ulast", 1, settle: false);

        // Nothing is left to run: the friend goes a moment later (a second, in these tests), not after the runtime's
        // collection age of two minutes.
        cluster.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await cluster.LeavesMemoryAsync(grainId), "with nothing left due after its woken run, the friend should have left memory");
        var snapshot = await friend.GetSnapshot();
        Assert.Contains(snapshot.History, h => h.Kind == HistoryKind.Sent && h.StepId == "last");
    }

    [Fact]
    public async Task A_friend_whose_last_step_a_command_ran_stays_in_memory()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "only", new FollowTrigger(), Send("only", "Welcome")));
        var friend = cluster.Friend(channel, "Ustays");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Ustays", 1, settle: false);

        // A friend who just wrote is likely to write again: its activation is kept for the collection age.
        Assert.False(await cluster.LeavesMemoryAsync(friend.GetGrainId(), TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task A_friend_waiting_minutes_stays_in_memory_on_its_reminder_while_the_silo_has_room()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "minutes", new FollowTrigger(),
            Send("hello", "Welcome!"), WaitMinutes("wait", 5), Send("second", "Five minutes later")));
        var friend = cluster.Friend(channel, "Uminutes");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Uminutes", 1, advanceClock: false, settle: false);

        // Coming back for a step five minutes away costs more than staying; ShortOfMemoryTests has the same friend
        // on a silo short of memory.
        Assert.False(await cluster.LeavesMemoryAsync(friend.GetGrainId(), TimeSpan.FromSeconds(2)));
        Assert.True(await cluster.HasReminderAsync(friend));
        await cluster.AdvanceAsync(TimeSpan.FromMinutes(6), TimeSpan.FromSeconds(10));
        Assert.Equal(["hello", "second"], StepIds(await cluster.WaitForDeliveriesAsync(channel, "Uminutes", 2, advanceClock: false)));
    }

    [Fact]
    public async Task A_transient_delivery_failure_is_retried_with_the_same_retry_key()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "retry", new FollowTrigger(), WaitDays("w", 1), Send("hello", "Hello")));
        var friend = cluster.Friend(channel, "Uretry");
        await friend.Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });

        // Armed before the clock moves: the reminder may tick before the call below, and whichever runs the step
        // first meets the failure.
        cluster.Deliveries.FailNext(channel, 1);
        cluster.Clock.Advance(TimeSpan.FromDays(1));
        await friend.RunDueSteps();
        Assert.Empty(cluster.DeliveriesTo(channel, "Uretry"));
        var retry = Assert.Single((await friend.GetSnapshot()).History, h => h.Kind == HistoryKind.RetryScheduled);

        await cluster.AdvanceAsync(TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(30));
        var delivered = Assert.Single(await cluster.WaitForDeliveriesAsync(channel, "Uretry", 1));
        Assert.Equal(retry.RetryKey, delivered.RetryKey);
    }
}
