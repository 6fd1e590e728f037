using Orleans.Core.Internal;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Engine;

/// <summary>
/// An engine cluster whose reminders, like its state, would not outlive the process, as in the embedded topology
/// (<c>Stepcast:Engine:DurableSafetyNet</c> off).
/// </summary>
public sealed class InProcessWaitsEngineCluster() : EngineCluster(new Dictionary<string, string?>
{
    ["Stepcast:Engine:DurableSafetyNet"] = "false",
});

[CollectionDefinition(Name)]
public sealed class InProcessWaitsEngineClusterCollection : ICollectionFixture<InProcessWaitsEngineCluster>
{
    public const string Name = "Engine cluster with in-process waits";
}

/// <summary>
/// Where a reminder would die with the process anyway, a friend staying in memory for a step a few minutes away wakes
/// by its own timer, and takes a reminder only if it leaves memory first. The same friends on a cluster whose
/// reminders outlive a crash keep a reminder (<see cref="LifecycleTests"/>).
/// </summary>
[Collection(InProcessWaitsEngineClusterCollection.Name)]
public sealed class InProcessWaitTests(InProcessWaitsEngineCluster cluster)
{
    [Fact]
    public async Task A_friend_waiting_minutes_wakes_by_its_own_timer_on_time_without_a_reminder()
    {
        var (channel, friend, due) = await FollowIntoFiveMinuteWaitAsync("Utimer");

        Assert.False(await cluster.HasReminderAsync(friend));
        // Past the runtime's collection age (two minutes) before the step: the friend is kept for its timer.
        var all = await AdvanceToAsync(due, channel, "Utimer");

        Assert.Equal(["hello", "second"], StepIds(all));
        Assert.InRange(all[1].SentAt, due, due + TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_friend_waiting_minutes_that_leaves_memory_takes_a_reminder_and_still_gets_the_step_on_time()
    {
        var (channel, friend, due) = await FollowIntoFiveMinuteWaitAsync("Uleaves");

        await friend.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.True(await cluster.LeavesMemoryAsync(friend.GetGrainId()));
        Assert.True(await cluster.HasReminderAsync(friend), "leaving with a step only its timer covered, the friend stores a reminder for it");

        var all = await AdvanceToAsync(due, channel, "Uleaves");
        Assert.Equal(["hello", "second"], StepIds(all));
        Assert.InRange(all[1].SentAt, due, due + TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Moves the clock in slices to just short of <paramref name="due"/>, checks nothing went early, then sets it to the
    /// due time and waits for the step with the clock all but still, so the send is stamped when it went.
    /// </summary>
    private async Task<IReadOnlyList<RecordedDelivery>> AdvanceToAsync(DateTimeOffset due, string channel, string lineUserId)
    {
        await cluster.AdvanceAsync(due - cluster.Clock.GetUtcNow() - TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        Assert.Single(cluster.DeliveriesTo(channel, lineUserId));
        cluster.Clock.SetUtcNow(due);
        return await cluster.WaitForDeliveriesAsync(channel, lineUserId, 2, advanceClock: false);
    }

    private async Task<(string Channel, IFriendGrain Friend, DateTimeOffset Due)> FollowIntoFiveMinuteWaitAsync(string lineUserId)
    {
        var channel = NewChannel();
        await cluster.PublishAsync(Define(channel, "minutes", new FollowTrigger(),
            Send("hello", "Welcome!"), WaitMinutes("wait", 5), Send("second", "Five minutes later")));
        var friend = cluster.Friend(channel, lineUserId);
        var followedAt = cluster.Clock.GetUtcNow();
        await friend.Follow(new FollowCommand { At = followedAt });
        await cluster.WaitForDeliveriesAsync(channel, lineUserId, 1, advanceClock: false);
        return (channel, friend, followedAt + TimeSpan.FromMinutes(5));
    }
}
