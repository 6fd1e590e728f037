using Stepcast.Grains.Friends;
using Stepcast.Grains.Stats;
using Stepcast.Tests.Engine;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Campaigns;

/// <summary>Stats whose rules depend on elapsed time, on the fake-time cluster: a day passes in milliseconds.</summary>
[Collection(EngineClusterCollection.Name)]
public sealed class StatsEngineTests(EngineCluster cluster)
{
    private async Task<ScenarioStats> StatsAsync(string channelId, string scenarioId, Func<ScenarioStats, bool> done) =>
        await CampaignHostFactory.EventuallyAsync(
            () => cluster.Grains.GetGrain<IScenarioStatsGrain>(ScenarioStatsKey.Format(channelId, scenarioId)).GetStats(), done);

    private static StepStats Step(ScenarioStats stats, string stepId) => stats.Steps.GetValueOrDefault(stepId, StepStats.Zero);

    [Fact]
    public async Task A_block_counts_against_the_step_sent_within_the_last_24_hours_only()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "welcome", new Stepcast.Grains.Scenarios.FollowTrigger(),
            Send("hello", "Welcome!"), WaitDays("wait", 2), Send("coupon", "A coupon"), WaitDays("later", 30), Send("news", "News")));

        // Leaves an hour after the welcome: counted against "hello".
        await cluster.Friend(channel, "Uearly").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Uearly", 1);
        // Gets the coupon, then leaves a day and a half later: too late to blame the coupon.
        await cluster.Friend(channel, "Ulate").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.WaitForDeliveriesAsync(channel, "Ulate", 1);
        await cluster.AdvanceAsync(TimeSpan.FromHours(1));
        await cluster.Friend(channel, "Uearly").Unfollow(new UnfollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.AdvanceAsync(TimeSpan.FromDays(2));
        await cluster.WaitForDeliveriesAsync(channel, "Ulate", 2, advanceClock: false);
        await cluster.AdvanceAsync(TimeSpan.FromHours(36));
        await cluster.Friend(channel, "Ulate").Unfollow(new UnfollowCommand { At = cluster.Clock.GetUtcNow() });

        var stats = await StatsAsync(channel, "welcome", s => Step(s, "coupon").Sent == 1 && Step(s, "hello").BlockedWithin24h == 1);
        await Task.Delay(500);
        stats = await StatsAsync(channel, "welcome", _ => true);

        Assert.Equal(2, stats.Entered);
        Assert.Equal(2, Step(stats, "hello").Sent);
        Assert.Equal(1, Step(stats, "hello").BlockedWithin24h);
        Assert.Equal(1, Step(stats, "coupon").Sent);
        Assert.Equal(0, Step(stats, "coupon").BlockedWithin24h);
    }

    [Fact]
    public async Task A_conversion_event_counts_for_the_last_step_sent_within_the_window()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "nurture", new Stepcast.Grains.Scenarios.FollowTrigger(),
            Send("hello", "Welcome!"), WaitDays("wait", 1), Send("offer", "An offer"), WaitDays("later", 30), Send("news", "News"))
            with { ConversionEvent = "purchased" });

        await cluster.Friend(channel, "Ubuyer").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        await cluster.Friend(channel, "Ulater").Follow(new FollowCommand { At = cluster.Clock.GetUtcNow() });
        // The welcomes go out after the follows are answered, and only then is the offer's wake-up stored: done before
        // the clock moves. Stored while the clock raced past its minute, Orleans skips its first tick to the next
        // period, which the nearly still clock below never reaches (a fresh clone's run failed so, 1 delivery of 2).
        await cluster.WaitForDeliveriesAsync(channel, "Ubuyer", 1, advanceClock: false);
        await cluster.WaitForDeliveriesAsync(channel, "Ulater", 1, advanceClock: false);
        await cluster.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        await cluster.WaitForDeliveriesAsync(channel, "Ubuyer", 2, advanceClock: false);
        await cluster.WaitForDeliveriesAsync(channel, "Ulater", 2, advanceClock: false);
        await cluster.Friend(channel, "Ubuyer").RecordEvent(new FriendEventCommand { At = cluster.Clock.GetUtcNow(), Name = "purchased" });
        // Outside the 7-day window after the offer: not a conversion of this scenario.
        await cluster.AdvanceAsync(TimeSpan.FromDays(8));
        await cluster.Friend(channel, "Ulater").RecordEvent(new FriendEventCommand { At = cluster.Clock.GetUtcNow(), Name = "purchased" });

        var stats = await StatsAsync(channel, "nurture", s => Step(s, "offer").Converted == 1);
        await Task.Delay(500);
        stats = await StatsAsync(channel, "nurture", _ => true);

        Assert.Equal(1, Step(stats, "offer").Converted);
        Assert.Equal(0, Step(stats, "hello").Converted);
    }

    [Fact]
    public async Task Active_runs_are_bucketed_by_the_day_their_next_step_is_due()
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "drip", new Stepcast.Grains.Scenarios.FollowTrigger(),
            Send("hello", "Welcome!"), WaitDays("wait", 3), Send("second", "Second")));
        var start = cluster.Clock.GetUtcNow();

        await cluster.Friend(channel, "Ua").Follow(new FollowCommand { At = start });
        await cluster.Friend(channel, "Ub").Follow(new FollowCommand { At = start });
        await cluster.WaitForDeliveriesAsync(channel, "Ub", 1, advanceClock: false);
        var grain = cluster.Grains.GetGrain<IScenarioStatsGrain>(ScenarioStatsKey.Format(channel, "drip"));
        // Both runs counted at the second step: before the stats flush they are still counted at the first.
        var active = await CampaignHostFactory.EventuallyAsync(
            grain.GetActiveRuns, a => a.Length == 1 && a[0].StepId == "second" && a[0].Days.Sum(d => d.Runs) == 2);

        var second = Assert.Single(active);
        Assert.Equal("second", second.StepId);
        Assert.Equal([new ActiveRunsOnDay(DateOnly.FromDateTime(start.AddDays(3).UtcDateTime), 2)], second.Days.ToArray());

        await cluster.AdvanceAsync(TimeSpan.FromDays(3) + TimeSpan.FromHours(1));
        // Fake time keeps moving while waiting, as real time would, so a tick that raced a reminder-table refresh on a
        // busy machine is picked up by the next one.
        await cluster.WaitForDeliveriesAsync(channel, "Ub", 2);
        await cluster.WaitForDeliveriesAsync(channel, "Ua", 2);
        var after = await CampaignHostFactory.EventuallyAsync(grain.GetActiveRuns, a => a.IsEmpty);
        Assert.Empty(after);
    }
}
